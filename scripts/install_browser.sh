#!/usr/bin/env bash
# Install the headless browser the planner-page test drives (over the DevTools protocol): Debian's chromium and a CJK font
# (so Chinese labels render in screenshots). Idempotent: does nothing when both are present.
# Needs root (apt-get). Usage: bash scripts/install_browser.sh
set -euo pipefail
have_font() { command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh family 2>/dev/null | head -n1)" ]; }
if command -v chromium >/dev/null && have_font; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_browser.sh: chromium or a CJK font is missing; run as root to install them:" >&2
  echo "  apt-get install -y chromium fonts-wqy-zenhei" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei fontconfig >/dev/null
echo "installed: $(chromium --version 2>/dev/null)"

// Linli planner page: drill-down district → street → community over GET /segments and GET /planner/data.
// Hand-written, no framework, no CDN. Every number is an aggregate; cells under k residents arrive as "<k".
"use strict";

const PERSONAS = ["elderly", "family_with_children", "commuter", "migrant", "accessibility_needs", "student",
  "job_seeker"];
const CATEGORIES = ["elderly_care", "health", "childcare", "employment", "administration", "convenience",
  "culture_sports", "volunteering", "accessibility", "legal_social", "youth_study"];
const COLORS = ["#0b6bcb", "#e8710a", "#1e8e3e", "#9334e6", "#d01884", "#12a4af", "#7a5c00"];
const LEVELS = ["district", "street", "community"];
const SVG = "http://www.w3.org/2000/svg"; // a namespace name, never fetched

const TEXT = {
  zh: {
    title: "邻里 · 社区规划视图", skip: "跳到主要内容", signout: "退出", toggle: "English", all: "全部区",
    district: "区", street: "街道", community: "社区", loading: "正在加载…", failed: "加载失败：",
    children: { district: "各区", street: "下辖街道", community: "下辖社区" }, name: "名称", residents: "居民数",
    open: "查看", composition: "人群构成", persona: "人群", count: "人数", share: "占比",
    change: "活跃占比较上月", monthly: "各月活跃居民（按人群）", month: "月份", active: "活跃居民",
    compare: "与街道、区比较（占比）", segments: "学习得到的居民分群", segment: "分群", description: "描述",
    inUnit: "本单位人数", usage: "各人群的服务使用与未满足需求", choosePersona: "选择人群",
    category: "服务类别", users: "使用人数", uses: "使用次数", rating: "平均评分", raters: "评分人数",
    demand: "有需求人数", unmet: "未满足需求人数", csv: "导出 CSV", allResidents: "全部居民",
    suppressed: (k) => `少于${k}人`, cutoff: (d, v, k) => `数据截至 ${d} · 模型版本 ${v} · 少于 ${k} 人的格子不显示数值`,
    dp: (e) => `差分隐私 ε = ${e}：每个数都加了随机噪声，任何一位居民在或不在数据里，结果几乎不变；` +
      "ε 越小越隐私、数越不准；社区的数误差最大，街道、区的数是其社区之和。",
    compositionNote: "占比 = 该人群人数 / 居民数；一人可属于多个人群。较上月变化按当月有活动的居民计算。",
    monthlyNote: "活跃 = 当月至少有一次记录；人群标签以数据截止日为准。",
    usageNote: "有需求 = 平台向其推荐（曝光）或本人浏览、点击过该类服务（邻里没有搜索记录，以浏览、点击代替搜索）；" +
      "未满足 = 这类服务在其社区不提供，或只在线上提供而本人偏好线下。",
    requests: "居民诉求（按人群、类别）", requestsMonthly: "各月居民诉求", asked: "诉求数", unmetAsked: "未满足诉求",
    unmatched: "未识别", requestsNote: "诉求 = 居民用自己的话提出的需求（按识别出的首要类别计）；未满足 = 其社区没有该类服务，" +
      "或只有线上服务而本人偏好线下。少于 k 条的格子不显示。",
    chartComposition: "各人群占比条形图", chartMonthly: "各月活跃居民折线图", pick: "请选择一个区开始。",
    personas: { elderly: "老年人", family_with_children: "有孩家庭", commuter: "通勤族", migrant: "新市民",
      accessibility_needs: "有无障碍需求者", student: "学生", job_seeker: "求职者", all: "全部居民" },
    categories: { elderly_care: "养老", health: "健康医疗", childcare: "托育", employment: "就业",
      administration: "政务", convenience: "便民", culture_sports: "文体", volunteering: "志愿",
      accessibility: "无障碍", legal_social: "法律社工", youth_study: "青少年学习" },
  },
  en: {
    title: "Linli · planner view", skip: "Skip to main content", signout: "Sign out", toggle: "中文",
    all: "All districts", district: "District", street: "Street", community: "Community", loading: "Loading…",
    failed: "Could not load: ", children: { district: "Districts", street: "Streets", community: "Communities" },
    name: "Name", residents: "Residents", open: "Open", composition: "Persona composition", persona: "Persona",
    count: "Residents", share: "Share", change: "Active share vs last month", monthly: "Active residents by month",
    month: "Month", active: "Active", compare: "Compared with street and district (shares)",
    segments: "Learned segments", segment: "Segment", description: "Description", inUnit: "Residents here",
    usage: "Service use and unmet demand by persona", choosePersona: "Persona", category: "Category",
    users: "Users", uses: "Uses", rating: "Mean rating", raters: "Raters", demand: "With demand",
    unmet: "Unmet demand", csv: "Export CSV", allResidents: "All residents", suppressed: (k) => `<${k}`,
    cutoff: (d, v, k) => `Data up to ${d} · model version ${v} · cells under ${k} residents are hidden`,
    dp: (e) => `Differential privacy ε = ${e}: every count carries random noise, so whether any one resident ` +
      "is in the data barely changes what is shown; a smaller ε is more private and less accurate; community " +
      "counts are the least accurate, and streets and districts are the sums of their communities.",
    compositionNote: "Share = persona residents / residents; a resident can hold several personas. " +
      "The monthly change is over residents active that month.",
    monthlyNote: "Active = at least one event that month; persona tags as of the data cut-off.",
    usageNote: "Demand = the platform recommended (impression) or the resident viewed or clicked a service of the " +
      "category (Linli has no search log; views and clicks stand in for searches). Unmet = not offered in their " +
      "community, or offered only online to a resident who prefers offline.",
    requests: "Residents' requests by persona and category", requestsMonthly: "Residents' requests by month",
    asked: "Requests", unmetAsked: "Unmet requests", unmatched: "Not understood",
    requestsNote: "Requests = needs residents stated in their own words (counted under the top understood " +
      "category); unmet = no such service in their community, or only online ones for a resident who prefers " +
      "offline. Cells under k are hidden.",
    chartComposition: "Bar chart of persona shares", chartMonthly: "Line chart of active residents by month",
    pick: "Choose a district to start.",
    personas: { elderly: "Elderly", family_with_children: "Families with children", commuter: "Commuters",
      migrant: "New residents (migrants)", accessibility_needs: "Accessibility needs", student: "Students",
      job_seeker: "Job seekers", all: "All residents" },
    categories: { elderly_care: "Elderly care", health: "Health", childcare: "Childcare", employment: "Employment",
      administration: "Administration", convenience: "Convenience", culture_sports: "Culture & sports",
      volunteering: "Volunteering", accessibility: "Accessibility", legal_social: "Legal & social work",
      youth_study: "Youth & study" },
  },
};

const state = { lang: localStorage.getItem("linli-lang") === "en" ? "en" : "zh", units: {}, path: [], k: 10,
  data: null, persona: "all" };
const t = (key) => TEXT[state.lang][key];

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "onclick" || name === "onchange") node.addEventListener(name.slice(2), value);
    else if (name === "color") node.style.background = value; // CSSOM: allowed by the page's CSP
    else node.setAttribute(name, value);
  }
  for (const kid of kids.flat(Infinity)) node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  return node;
}

function isHidden(v) { return typeof v === "string" && v.startsWith("<"); }
function show(v) {
  if (isHidden(v)) return t("suppressed")(v.slice(1));
  if (v === null || v === undefined) return "–";
  return String(v);
}
function pct(v) { return isHidden(v) ? show(v) : (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%"); }

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401) { window.location.assign("/planner"); throw new Error("401"); }
  if (!response.ok) throw new Error(`${response.status} ${url}`);
  return response.json();
}

// A table: columns [{key, label, fmt?}], rows of raw values; CSV exports the raw values ("<k" stays "<k").
function table(id, columns, rows, caption) {
  const head = el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c.label)));
  const body = rows.map((row) => el("tr", { "data-row": row._id ?? "" }, columns.map((c, i) => {
    const raw = row[c.key];
    const text = c.fmt ? c.fmt(raw, row) : show(raw);
    const cls = isHidden(raw) ? "hidden" : (c.cls ? c.cls(raw) : "");
    return i === 0 ? el("th", { scope: "row", "data-col": c.key }, c.node ? c.node(row) : text)
      : el("td", { "data-col": c.key, class: cls }, text);
  })));
  const csv = el("button", { type: "button", class: "csv", "data-table": id,
    onclick: () => download(id, columns, rows) }, t("csv"));
  return [el("div", { class: "scroll" }, el("table", { id }, el("caption", { class: "note" }, caption ?? ""),
    el("thead", {}, head), el("tbody", {}, body))), csv];
}

function download(id, columns, rows) {
  const quote = (v) => { const s = v === null || v === undefined ? "" : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  const lines = [columns.map((c) => quote(c.label)).join(",")]
    .concat(rows.map((r) => columns.map((c) => quote(c.csv ? c.csv(r) : r[c.key])).join(",")));
  const blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
  const link = el("a", { href: URL.createObjectURL(blob), download: `${current()?.id ?? "linli"}-${id}.csv` });
  document.body.append(link); link.click(); link.remove();
}

function section(title, id, ...kids) {
  return el("section", { id, "aria-labelledby": id + "-h" }, el("div", { class: "head" },
    el("h2", { id: id + "-h" }, title)), kids);
}

function current() {
  const last = state.path[state.path.length - 1];
  return last ? state.units[last.level].find((u) => u.id === last.id) : null;
}

function barChart(unit) {
  const rows = PERSONAS.map((p) => ({ p, v: unit.persona_shares[p] }));
  const w = 460, bar = 22, left = 130, h = rows.length * (bar + 6) + 6;
  const svg = `<svg xmlns="${SVG}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${t("chartComposition")}">` + rows.map((r, i) => {
    const y = 4 + i * (bar + 6), width = isHidden(r.v) || r.v == null ? 0 : r.v * (w - left - 60);
    return `<text x="${left - 6}" y="${y + 15}" text-anchor="end">${t("personas")[r.p]}</text>` +
      `<rect x="${left}" y="${y}" width="${width.toFixed(1)}" height="${bar}" fill="${COLORS[i]}"></rect>` +
      `<text x="${left + width + 4}" y="${y + 15}">${pct(r.v)}</text>`;
  }).join("") + "</svg>";
  return new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
}

function lineChart(monthly) {
  const w = 1000, h = 220, left = 40, right = 40, top = 10, bottom = 30;
  const series = PERSONAS.map((p, i) => ({ p, i, pts: monthly.map((m) => m["persona_" + p]) }));
  const max = Math.max(1, ...series.flatMap((s) => s.pts.filter((v) => typeof v === "number")));
  const x = (j) => left + (monthly.length < 2 ? 0 : j * (w - left - right) / (monthly.length - 1));
  const y = (v) => top + (h - top - bottom) * (1 - v / max);
  let svg = `<svg xmlns="${SVG}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${t("chartMonthly")}">`;
  svg += `<line x1="${left}" y1="${y(0)}" x2="${w - right}" y2="${y(0)}" stroke="#999"></line>`;
  svg += `<text x="${left - 4}" y="${y(max) + 4}" text-anchor="end">${max}</text>`;
  monthly.forEach((m, j) => { svg += `<text x="${x(j)}" y="${h - 10}" text-anchor="middle">${m.month}</text>`; });
  for (const s of series) {
    let d = "", pen = "M";
    s.pts.forEach((v, j) => {
      if (typeof v === "number") { d += `${pen}${x(j).toFixed(1)},${y(v).toFixed(1)} `; pen = "L"; } else pen = "M";
    });
    if (d) svg += `<path d="${d}" fill="none" stroke="${COLORS[s.i]}" stroke-width="2"></path>`;
  }
  svg += "</svg>";
  return new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
}

function legend() {
  return el("ul", { class: "legend", "aria-hidden": "true" },
    PERSONAS.map((p, i) => el("li", {}, el("span", { color: COLORS[i] }), t("personas")[p])));
}

function renderBreadcrumb() {
  const items = [el("li", {}, el("button", { type: "button", onclick: () => go([]) }, t("all")))];
  state.path.forEach((step, i) => {
    const unit = state.units[step.level].find((u) => u.id === step.id);
    const label = `${t(step.level)} · ${unit?.name ?? step.id}`;
    const last = i === state.path.length - 1;
    items.push(el("li", {}, last ? el("span", { "aria-current": "page" }, label)
      : el("button", { type: "button", onclick: () => go(state.path.slice(0, i + 1)) }, label)));
  });
  document.getElementById("breadcrumb").replaceChildren(el("ol", {}, items));
}

function renderChildren() {
  const depth = state.path.length;
  const box = document.getElementById("children");
  if (depth >= LEVELS.length) { box.replaceChildren(); box.hidden = true; return; }
  box.hidden = false;
  const level = LEVELS[depth];
  const parent = state.path[depth - 1];
  const kids = state.units[level].filter((u) => !parent || u.parent_id === parent.id);
  const rows = kids.map((u) => ({ _id: u.id, id: u.id, name: u.name ?? u.id, residents: u.residents }));
  const cols = [{ key: "name", label: t("name"), node: (r) => el("button", { type: "button", class: "drill",
    "data-level": level, "data-id": r.id, onclick: () => go([...state.path, { level, id: r.id }]) }, r.name) },
  { key: "residents", label: t("residents") }];
  box.replaceChildren(el("h2", {}, t("children")[level]), ...table("children-table", cols, rows,
    depth === 0 ? t("pick") : ""));
}

function renderUnit() {
  const box = document.getElementById("unit");
  const unit = current();
  if (!unit || !state.data) { box.replaceChildren(); return; }
  const monthly = state.data.monthly;
  const [prev, last] = [monthly[monthly.length - 2], monthly[monthly.length - 1]];
  const activeShare = (m, p) => (m && typeof m.active === "number" && typeof m["persona_" + p] === "number"
    ? m["persona_" + p] / m.active : null);
  const comp = PERSONAS.map((p) => {
    const a = activeShare(last, p), b = activeShare(prev, p);
    return { _id: p, persona: t("personas")[p], count: unit.personas[p], share: unit.persona_shares[p],
      change: a !== null && b !== null ? ((a - b) * 100).toFixed(1) + " pp" : "–" };
  });
  const parts = [section(t("composition"), "composition", barChart(unit),
    table("composition-table", [{ key: "persona", label: t("persona") }, { key: "count", label: t("count") },
      { key: "share", label: t("share"), fmt: pct }, { key: "change", label: t("change") }], comp,
    `${t("residents")}: ${show(unit.residents)} · ${t("compositionNote")}`))];

  const mRows = monthly.map((m) => ({ _id: m.month, ...m }));
  const monthlySection = section(t("monthly"), "monthly", lineChart(monthly), legend(),
    table("monthly-table", [{ key: "month", label: t("month") }, { key: "active", label: t("active") },
      ...PERSONAS.map((p) => ({ key: "persona_" + p, label: t("personas")[p] }))], mRows, t("monthlyNote")));
  monthlySection.classList.add("wide");

  const chain = state.path.slice(0, -1).map((s) => state.units[s.level].find((u) => u.id === s.id)).reverse();
  if (chain.length) {
    const levels = state.path.slice(0, -1).map((s) => s.level).reverse();
    const cRows = PERSONAS.map((p) => ({ _id: p, persona: t("personas")[p], here: unit.persona_shares[p],
      ...Object.fromEntries(chain.map((u, i) => [levels[i], u.persona_shares[p]])) }));
    parts.push(section(t("compare"), "compare", ...table("compare-table", [{ key: "persona", label: t("persona") },
      { key: "here", label: unit.name ?? unit.id, fmt: pct },
      ...chain.map((u, i) => ({ key: levels[i], label: `${t(levels[i])} · ${u.name ?? u.id}`, fmt: pct }))], cRows)));
  }

  parts.push(monthlySection);
  const sRows = state.data.segments.map((s) => ({ _id: s.segment, segment: s.segment,
    description: state.lang === "zh" ? s.description_zh : s.description_en, here: unit.segments[s.segment] }));
  parts.push(section(t("segments"), "segments", ...table("segments-table", [{ key: "segment", label: t("segment") },
    { key: "description", label: t("description") }, { key: "here", label: t("inUnit") }], sRows)));

  const select = el("select", { id: "persona-select", onchange: (e) => { state.persona = e.target.value; renderUnit(); } },
    ["all", ...PERSONAS].map((p) => el("option", { value: p }, t("personas")[p])));
  select.value = state.persona;
  const uRows = state.data.usage.filter((r) => r.persona === state.persona)
    .map((r) => ({ _id: r.category, ...r, name: t("categories")[r.category] ?? r.category }))
    .sort((a, b) => (typeof b.users === "number" ? b.users : -1) - (typeof a.users === "number" ? a.users : -1));
  parts.push(section(t("usage"), "usage", el("label", { for: "persona-select" }, t("choosePersona") + " "), select,
    ...table("usage-table", [{ key: "name", label: t("category"), csv: (r) => r.category },
      { key: "users", label: t("users") }, { key: "uses", label: t("uses") },
      { key: "mean_rating", label: t("rating") }, { key: "raters", label: t("raters") },
      { key: "demand", label: t("demand") },
      { key: "unmet", label: t("unmet"), cls: (v) => (typeof v === "number" && v > 0 ? "unmet" : "") }],
    uRows, t("usageNote"))));
  parts.push(...requestSections());
  parts.slice(-4).forEach((part) => part.classList.add("wide"));
  box.replaceChildren(...parts);
  document.getElementById("footer").textContent = t("cutoff")(state.data.cutoff, state.data.model_version, state.k);
}

// 居民诉求: real requests (POST /requests) of the chosen persona per category, and all requests per month.
function requestSections() {
  const rows = (state.data.requests ?? []).filter((r) => r.persona === state.persona)
    .map((r) => ({ _id: r.category, ...r, name: t("categories")[r.category] ?? r.category }));
  const months = (state.data.requests_monthly ?? []).map((m) => ({ _id: m.month, ...m }));
  const note = state.data.requests_note ? `${state.data.requests_note} · ${t("requestsNote")}` : t("requestsNote");
  return [section(t("requests"), "requests", ...table("requests-table", [
    { key: "name", label: t("category"), csv: (r) => r.category }, { key: "requests", label: t("asked") },
    { key: "unmet", label: t("unmetAsked"), cls: (v) => (typeof v === "number" && v > 0 ? "unmet" : "") }],
  rows, note)), section(t("requestsMonthly"), "requests-monthly", ...table("requests-monthly-table", [
    { key: "month", label: t("month") }, { key: "requests", label: t("asked") }, { key: "unmet", label: t("unmetAsked") },
    ...CATEGORIES.map((c) => ({ key: "category_" + c, label: t("categories")[c] })),
    { key: "unmatched", label: t("unmatched") }], months, t("requestsNote")))];
}

function renderText() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
  const toggle = document.getElementById("lang-toggle");
  toggle.textContent = t("toggle");
  toggle.lang = state.lang === "zh" ? "en" : "zh-CN";
  const privacy = document.getElementById("privacy");
  privacy.textContent = state.epsilon === null || state.epsilon === undefined ? "" : t("dp")(state.epsilon);
  privacy.hidden = !privacy.textContent;
}

function render() { renderText(); renderBreadcrumb(); renderChildren(); renderUnit(); }

async function go(path) {
  state.path = path;
  state.data = null;
  const status = document.getElementById("status");
  const last = path[path.length - 1];
  if (last) {
    status.textContent = t("loading");
    try {
      state.data = await getJSON(`/planner/data?level=${last.level}&id=${encodeURIComponent(last.id)}`);
      status.textContent = "";
    } catch (err) { status.textContent = t("failed") + err.message; }
  }
  render();
  document.body.dataset.ready = path.map((s) => s.id).join("/") || "root";
}

async function start() {
  document.getElementById("lang-toggle").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("linli-lang", state.lang);
    render();
  });
  document.getElementById("status").textContent = t("loading");
  try {
    for (const level of LEVELS) {
      const body = await getJSON(`/segments?level=${level}`);
      state.units[level] = body.data;
      state.k = body.k;
      state.epsilon = body.dp_epsilon ?? null;
    }
    document.getElementById("status").textContent = "";
    await go([]);
  } catch (err) { document.getElementById("status").textContent = t("failed") + err.message; }
}

document.addEventListener("DOMContentLoaded", start);

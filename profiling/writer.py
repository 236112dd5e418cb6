"""Write a :class:`~profiling.config.ProfilingConfig` as a ``personas.toml`` that :func:`load_config` reads back."""

from __future__ import annotations

from pathlib import Path

import tomli_w

from profiling.calibrate import Calibration
from profiling.config import ProfilingConfig


def write_config(config: ProfilingConfig, path: str | Path, calibration: Calibration | None = None,
                 source: str | None = None) -> Path:
    """Write ``config`` as TOML, headed by comments recording the calibration that produced it.

    Parameters
    ----------
    config : ProfilingConfig
    path : str or Path
        The file to write (its folder is created).
    calibration : Calibration, optional
        Adds the labels, the macro F1 before / after / ceiling and the moved thresholds as comments.
    source : str, optional
        The label file, named in the header.

    Returns
    -------
    Path
    """
    path = Path(path)
    lines = ["# Linli profiling configuration (see profiling/personas.toml for every key)."]
    if calibration is not None:
        macro = calibration.macro()
        lines.append(f"# Calibrated by `linli profile calibrate` on {calibration.labels} labelled residents"
                     + (f" ({source})" if source else "") + ".")
        lines.append(f"# Macro F1 before {macro['before']:.3f}, after {macro['after']:.3f} (cross-validated), "
                     f"LightGBM ceiling {macro['ceiling']:.3f}.")
        lines += [f"# {key}: {old} -> {new}" for key, (old, new) in calibration.changed.items()]
    body = tomli_w.dumps(config.model_dump(mode="json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n\n" + body, encoding="utf-8")
    return path

"""The readable ``amd-eval`` table: detectors side by side (pure string formatting)."""

from __future__ import annotations

from typing import Any

from media.amd.metrics import PREDICTIONS
from media.amd.types import LABELS


def _num(x: Any, pct: bool = False) -> str:
    if x is None:
        return "-"
    if pct:
        return f"{100 * x:.1f}%"
    return f"{x:.3f}"


ROWS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("accuracy", ("accuracy",), True),
    ("accuracy, human+machine only", ("accuracy_human_machine",), True),
    ("human taken for machine", ("human_as_machine",), True),
    ("machine taken for human", ("machine_as_human",), True),
    ("human verdict after speech end, median s", ("human_decision_after_speech_end_s", "median"),
     False),
    ("human verdict after speech end, p95 s", ("human_decision_after_speech_end_s", "p95"), False),
    ("machine verdict from answer, median s", ("machine_decision_s", "median"), False),
    ("machine verdict from answer, p95 s", ("machine_decision_s", "p95"), False),
    ("vm message start - beep end, median s", ("vm_drop_error_s", "median"), False),
    ("vm message start - beep end, p95 s", ("vm_drop_error_s", "p95"), False),
    ("vm message 0-300 ms after beep", ("vm_drop_error_s", "within_300ms"), True),
    ("no-beep message start - speech end, median s",
     ("vm_drop_nobeep_after_speech_end_s", "median"), False),
    ("CPU per frame, us", ("cpu_us_per_frame",), False),
)


def _get(summary: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = summary
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def table(summaries: list[dict[str, Any]], title: str) -> str:
    width = max(len(r[0]) for r in ROWS) + 2
    lines = [title, ""]
    head = "".ljust(width) + "".join(s["detector"].rjust(12) for s in summaries)
    lines.append(head)
    for label, path, pct in ROWS:
        cells = "".join(_num(_get(s, path), pct).rjust(12) for s in summaries)
        lines.append(label.ljust(width) + cells)
    for s in summaries:
        lines += ["", f"confusion, {s['detector']} (rows: label, columns: verdict)"]
        lines.append("".ljust(10) + "".join(p.rjust(9) for p in PREDICTIONS))
        for lab in LABELS:
            row = s["confusion"][lab]
            lines.append(lab.ljust(10) + "".join(str(row[p]).rjust(9) for p in PREDICTIONS))
    return "\n".join(lines)

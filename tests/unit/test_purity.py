"""Pure cores never import I/O libraries or read the clock (ARCHITECTURE.md habit 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORES = ["dialer/pacing", "dialer/campaign", "dialer/compliance", "dialer/agents", "media/amd"]
FORBIDDEN_MODULES = {"asyncio", "pjsua2", "redis", "socket", "subprocess", "threading"}
CLOCK_CALLS = {("time", "time"), ("time", "monotonic"), ("time", "perf_counter"), ("datetime", "now"),
               ("datetime", "utcnow"), ("date", "today"), ("time", "process_time")}
# Command-line entry points live beside their core but are edges.
EDGE_FILES = {"media/amd/evaluate.py", "media/amd/corpus.py", "dialer/pacing/simulate.py",
              "dialer/pacing/bench.py"}


def core_files() -> list[Path]:
    files = []
    for core in CORES:
        for path in sorted((ROOT / core).rglob("*.py")):
            if str(path.relative_to(ROOT)) not in EDGE_FILES:
                files.append(path)
    return files


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_is_sans_io(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] not in FORBIDDEN_MODULES, f"{path}: imports {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] not in FORBIDDEN_MODULES, f"{path}: imports {node.module}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            if isinstance(base, ast.Name):
                assert (base.id, node.func.attr) not in CLOCK_CALLS, f"{path}:{node.lineno} reads the clock"


def test_cores_exist() -> None:
    assert len(core_files()) >= 2

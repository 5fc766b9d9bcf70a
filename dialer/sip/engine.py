"""Which PJSIP engine this process would use, and what it can do.

scripts/build-pjsip builds a high-capacity pjsua2 module (pjproject 2.12,
PJSUA_MAX_CALLS >= 1000, epoll, SWIG ``-threads``, our ``FramePort``) into a
per-machine cache directory next to an ``ENGINE.json`` that records how it was
built; a ``.pth`` file puts that directory on the venv's path. docs/engine.md
describes the build, docs/sip.md how the edge uses it.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from dialer.errors import SipFailure

# The stock pjsua2 wheel is compiled with PJSUA_MAX_CALLS = 4; without
# ENGINE.json we assume that much and no more.
STOCK_MAX_CALLS = 4


def import_pjsua2() -> ModuleType:
    """Import pjsua2 or raise SipFailure saying how to get it."""
    try:
        return importlib.import_module("pjsua2")
    except Exception as exc:  # ImportError, or a broken .so (OSError)
        raise SipFailure(0, f"the PJSIP engine (pjsua2) is not importable: {exc}; run scripts/setup") from None


def _engine_json(module: ModuleType) -> Path | None:
    here = Path(module.__file__ or "").resolve().parent
    for folder in (here, here.parent):  # a module file, or a pjsua2/ package
        candidate = folder / "ENGINE.json"
        if candidate.is_file():
            return candidate
    return None


def engine_info() -> dict[str, Any] | None:
    """What ENGINE.json says about the importable pjsua2, or None without pjsua2.

    Keys written by scripts/build-pjsip include ``pjproject`` (version) and
    ``max_calls``; we add ``module`` (where pjsua2 was imported from),
    ``frame_port`` (whether our FramePort class is there) and ``engine_json``.
    A stock pjsua2 (no ENGINE.json) reports ``max_calls`` = 4.
    """
    try:
        module = import_pjsua2()
    except SipFailure:
        return None
    info: dict[str, Any] = {}
    path = _engine_json(module)
    if path is not None:
        try:
            loaded = json.loads(path.read_text())
            if isinstance(loaded, dict):
                info.update(loaded)
        except (OSError, ValueError) as exc:
            info["engine_json_error"] = str(exc)
    else:
        info.setdefault("pjproject", "unknown (stock pjsua2, no ENGINE.json)")
        info.setdefault("max_calls", STOCK_MAX_CALLS)
    info["module"] = str(module.__file__)
    info["engine_json"] = str(path) if path else None
    info.setdefault("frame_port", hasattr(module, "FramePort"))
    info.setdefault("max_calls", STOCK_MAX_CALLS)
    return info

"""What the PJSIP worker's parts share: one declaration for readers and type checkers.

``PjsipWorker`` (worker.py) is assembled from mixins - accounts, legs, media -
that use each other's state. This base only declares it; at run time it adds
nothing, so the real definitions (later in the MRO) are never shadowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from dialer.config import SipSettings
    from dialer.sip.events import SipEvent


class WorkerBase:
    if TYPE_CHECKING:
        settings: SipSettings
        pj: Any  # the pjsua2 module
        ep: Any  # pj.Endpoint
        log: Any
        counters: dict[str, int]
        stopping: bool
        refuse_new: bool
        customers: dict[str, Any]  # call_id -> Leg
        agents: dict[str, Any]  # agent_id -> Leg
        graveyard: list[Any]
        CallClass: Any

        def emit(self, event: SipEvent) -> None: ...
        def enqueue(self, *command: Any) -> None: ...
        def call_later(self, delay_s: float, fn: Callable[..., None], *args: Any) -> tuple[float, int]: ...
        def on_pjsip_thread(self) -> bool: ...
        def release_media(self, leg: Any) -> None: ...
        def maybe_tap(self, leg: Any) -> None: ...
        def _hangup(self, leg: Any, code: int, *, by_us: bool = True) -> None: ...

"""What every handler of the agent API shares: stores, the daemon, agents, the clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog
from aiohttp import web

from dialer.api.control import DaemonControl
from dialer.api.errors import ApiError
from dialer.store.dnc import DncList
from dialer.store.records import RecordStore

_enc = msgspec.json.Encoder()


@dataclass(frozen=True)
class ApiContext:
    store_for: Callable[[str], RecordStore]  # KeyError for an unknown campaign
    control: DaemonControl | None
    agents: frozenset[str]
    agent_campaigns: Mapping[str, Collection[str]] = field(default_factory=dict)
    global_dnc: DncList | None = None
    clock: Callable[[], float] = time.time
    preview_lease_s: float = 300.0
    log: Any = field(default_factory=lambda: structlog.get_logger("dialer.api"))

    def store(self, campaign: str) -> RecordStore:
        try:
            return self.store_for(campaign)
        except KeyError:
            raise ApiError(404, f"unknown campaign {campaign!r}", "campaign") from None

    def agent(self, agent_id: str, campaign: str | None = None) -> str:
        """``agent_id`` when it is a configured agent allowed on ``campaign``."""
        if agent_id not in self.agents:
            raise ApiError(404, f"unknown agent {agent_id!r}", "agent")
        if campaign is not None:
            allowed = self.agent_campaigns.get(agent_id)
            if allowed and campaign not in allowed:
                raise ApiError(403, f"agent {agent_id!r} does not work campaign {campaign!r}",
                               "agent")
        return agent_id

    def need_control(self) -> DaemonControl:
        if self.control is None:
            raise ApiError(503, "no dialer daemon is attached to this API", None)
        return self.control


CTX: web.AppKey[ApiContext] = web.AppKey("dialer_api", ApiContext)


def reply(obj: Any, status: int = 200) -> web.Response:
    """A JSON response; ``obj`` may hold msgspec Structs."""
    return web.Response(status=status, body=_enc.encode(obj), content_type="application/json")

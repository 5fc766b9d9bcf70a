"""Agent presence endpoints: list the roster, go Ready, go Not Ready (the daemon's)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from dialer.api.context import CTX, reply
from dialer.api.errors import ApiError


async def roster(request: web.Request) -> web.Response:
    control = request.app[CTX].need_control()
    return reply({"agents": control.agents()})


async def current_call(request: web.Request) -> web.Response:
    """GET /agents/{agent}/call: the call and lease token a progressive or predictive
    agent needs to complete the record (previewed records come with theirs)."""
    ctx = request.app[CTX]
    control = ctx.need_control()
    agent = ctx.agent(request.match_info["agent"])
    try:
        call = control.agent_call(agent)
    except KeyError:
        raise ApiError(404, f"the dialer does not know agent {agent!r}", "agent") from None
    if call is None:
        raise ApiError(404, f"agent {agent!r} has no call now", "agent")
    return reply(call)


async def ready(request: web.Request) -> web.Response:
    return _presence(request, "ready")


async def not_ready(request: web.Request) -> web.Response:
    return _presence(request, "not_ready")


def _presence(request: web.Request, target: str) -> web.Response:
    ctx = request.app[CTX]
    control = ctx.need_control()
    agent = ctx.agent(request.match_info["agent"])
    change: Callable[[str], None] = (
        control.agent_ready if target == "ready" else control.agent_not_ready)
    try:
        change(agent)  # InvalidTransition -> 409 by the error middleware
    except KeyError:
        raise ApiError(404, f"the dialer does not know agent {agent!r}", "agent") from None
    ctx.log.info("api_agent", agent=agent, target=target)
    state = next((a.get("state") for a in control.agents() if a.get("agent") == agent), target)
    return reply({"agent": agent, "state": state})

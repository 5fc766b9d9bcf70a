"""The agent API over HTTP: an aiohttp application the daemon mounts (docs/api.md).

::

    app = make_app(lambda c: daemon.runners[c].store, daemon, agents={"a1", "a2"})
    runner = await start_api(app, "127.0.0.1", 8080)
    ...
    await runner.cleanup()

JSON in and out. Every error is ``{"error": ..., "field": ...}`` with a 4xx status
that says whose move it is (dialer/api/errors.py has the table).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Collection, Mapping

import redis.exceptions
from aiohttp import web
from aiohttp.typedefs import Middleware

from dialer import __version__
from dialer.api import dnc, presence, records
from dialer.api.context import CTX, ApiContext, reply
from dialer.api.control import DaemonControl
from dialer.api.errors import ApiError, translate
from dialer.errors import DialerError
from dialer.store.dnc import DncList
from dialer.store.records import RecordStore

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON body; unexpected ones are logged as 500s."""
    log = request.app[CTX].log
    try:
        return await handler(request)
    except ApiError as exc:
        err = exc
    except DialerError as exc:
        err = translate(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        err = ApiError(exc.status, exc.reason, None)
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow",)}
        log.info("api_error", method=request.method, path=request.path, status=exc.status)
        return err.response(headers)
    except (redis.exceptions.RedisError, OSError) as exc:
        log.error("api_redis_unavailable", method=request.method, path=request.path,
                  error=str(exc))
        return ApiError(503, f"the record store is unavailable: {exc}", None).response()
    except Exception:
        log.exception("api_failed", method=request.method, path=request.path)
        return ApiError(500, "internal error; see the dialer log", None).response()
    log.info("api_error", method=request.method, path=request.path, status=err.status,
             field=err.field, error=err.error)
    return err.response()


def _auth(token: str) -> Middleware:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != "/health":
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                raise ApiError(401, "missing or wrong bearer token", "Authorization")
        return await handler(request)

    return bearer


async def health(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    out: dict[str, object] = {"status": "ok", "version": __version__,
                              "daemon": ctx.control is not None}
    if ctx.global_dnc is not None:
        try:
            await ctx.global_dnc.redis.ping()
            out["redis"] = "ok"
        except (redis.exceptions.RedisError, OSError) as exc:
            out.update(status="degraded", redis=f"down: {exc}")
            return reply(out, status=503)
    return reply(out)


def make_app(
    store_for: Callable[[str], RecordStore],
    control: DaemonControl | None,
    *,
    agents: Collection[str],
    agent_campaigns: Mapping[str, Collection[str]] | None = None,
    global_dnc: DncList | None = None,
    clock: Callable[[], float] = time.time,
    preview_lease_s: float = 300.0,
    token: str | None = None,
) -> web.Application:
    """The agent API.

    ``store_for(campaign)`` returns that campaign's RecordStore and raises KeyError for
    an unknown one. ``control`` is the daemon (None: agent-state endpoints answer 503,
    accept does not dial). ``agents`` are the agent ids the API accepts;
    ``agent_campaigns`` restricts an agent to campaigns (empty or absent: all).
    ``global_dnc`` enables ``/dnc`` (and a Redis check in ``/health``). ``clock`` is
    the time source for every store call. ``preview_lease_s``: how long a previewed
    record stays with its agent without a renew. ``token``: when set, every request
    but ``/health`` needs ``Authorization: Bearer <token>``.
    """
    middlewares: list[Middleware] = [json_errors] + ([_auth(token)] if token else [])
    app = web.Application(middlewares=middlewares)
    app[CTX] = ApiContext(
        store_for=store_for, control=control, agents=frozenset(agents),
        agent_campaigns=dict(agent_campaigns or {}), global_dnc=global_dnc, clock=clock,
        preview_lease_s=preview_lease_s,
    )
    c, r = "/campaigns/{campaign}", "/campaigns/{campaign}/records/{record_id}"
    app.router.add_get("/health", health)
    app.router.add_get(f"{c}/counts", records.counts)
    app.router.add_get(f"{c}/dispositions", records.form)
    app.router.add_post(f"{c}/preview", records.preview)
    app.router.add_get(r, records.record)
    for name, handler in (
        ("accept", records.accept), ("reject", records.reject), ("skip", records.skip),
        ("decline", records.decline), ("reschedule", records.reschedule),
        ("complete", records.complete), ("done", records.complete), ("renew", records.renew),
    ):
        app.router.add_post(f"{r}/{name}", handler)
    app.router.add_get("/agents", presence.roster)
    app.router.add_get("/agents/{agent}/call", presence.current_call)
    app.router.add_post("/agents/{agent}/ready", presence.ready)
    app.router.add_post("/agents/{agent}/not-ready", presence.not_ready)
    for base in (f"{c}/dnc", "/dnc"):
        app.router.add_post(base, dnc.add)
        app.router.add_delete(base, dnc.remove)
        app.router.add_get(base + "/{number}", dnc.lookup)
    return app


async def start_api(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` on host:port (0: any free port, see ``runner.addresses``).

    Stop with ``await runner.cleanup()``. Access logging is off: the API logs each
    action once through structlog (``api_action``, ``api_error``).
    """
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    return runner

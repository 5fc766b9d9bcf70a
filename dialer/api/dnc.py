"""Do-not-call endpoints: add, remove and look up numbers (dialer/store/dnc.py lists).

A number added here is refused by the claim script from the next claim on
(16 CFR 310.4(b)(1)(iii); 47 CFR 64.1200(c)(2), (d)): docs/compliance.md.
"""

from __future__ import annotations

from aiohttp import web

from dialer.api.bodies import DncBody, decode
from dialer.api.context import CTX, reply
from dialer.api.errors import ApiError
from dialer.compliance.numbers import normalize
from dialer.store.dnc import DncList


def _list(request: web.Request) -> tuple[DncList, str, str]:
    """(list, scope name, default region) of ``/campaigns/{c}/dnc`` or ``/dnc``."""
    ctx = request.app[CTX]
    campaign = request.match_info.get("campaign")
    if campaign is None:
        if ctx.global_dnc is None:
            raise ApiError(404, "no global do-not-call list is configured for this API", None)
        return ctx.global_dnc, "global", "US"
    store = ctx.store(campaign)
    return store.dnc, campaign, store.policy.region


def _e164(numbers: list[str], region: str, field: str = "numbers") -> list[str]:
    out = []
    for i, raw in enumerate(numbers):
        where = f"{field}[{i}]" if field == "numbers" else field
        try:
            out.append(normalize(raw, region))
        except ValueError as exc:
            raise ApiError(400, f"{where}: {exc}", where) from None
    return out


async def add(request: web.Request) -> web.Response:
    dnc, scope, region = _list(request)
    body = await decode(request, DncBody)
    numbers = _e164(body.numbers, body.region or region)
    added = await dnc.add(numbers)
    request.app[CTX].log.info("api_dnc", scope=scope, op="add", numbers=len(numbers),
                              added=added)
    return reply({"list": scope, "numbers": numbers, "added": added})


async def remove(request: web.Request) -> web.Response:
    dnc, scope, region = _list(request)
    body = await decode(request, DncBody)
    numbers = _e164(body.numbers, body.region or region)
    removed = await dnc.remove(numbers)
    request.app[CTX].log.info("api_dnc", scope=scope, op="remove", numbers=len(numbers),
                              removed=removed)
    return reply({"list": scope, "numbers": numbers, "removed": removed})


async def lookup(request: web.Request) -> web.Response:
    dnc, scope, region = _list(request)
    number = _e164([request.match_info["number"]], region, "number")[0]
    return reply({"list": scope, "number": number, "listed": await dnc.contains(number)})

"""Request bodies of the agent API, as msgspec Structs (docs/api.md lists them).

Unknown keys are refused (``forbid_unknown_fields``): a client that misspells
``dispositon`` gets a 400 naming it instead of a silently ignored field.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

import msgspec
from aiohttp import web

from dialer.api.errors import body_error
from dialer.campaign.callbacks import CallbackRequest
from dialer.campaign.policy import CampaignPolicy
from dialer.campaign.records import FieldValue

AgentId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Token = Annotated[int, msgspec.Meta(ge=1)]
Notes = Annotated[str, msgspec.Meta(max_length=4000)]
When = str | int | float  # ISO time, range word, or epoch seconds


class Body(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class AgentBody(Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /campaigns/{c}/preview``."""

    agent: AgentId


class LeaseBody(Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """accept, reject, skip, renew: the lease ref ``{agent, token}``."""

    agent: AgentId
    token: Token
    notes: Notes = ""


class CallbackBody(Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """When to call back; ``at`` may also be a range word (``tomorrow evening``)."""

    at: When = ""
    range: str = ""
    timezone: str = ""
    number: str = ""
    personal: bool = False
    notes: Notes = ""


class RescheduleBody(CallbackBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    agent: AgentId
    token: Token


class DeclineBody(CallbackBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    agent: AgentId
    token: Token
    reason: Literal["call_later", "do_not_call"]
    all_numbers: bool = False  # do_not_call: every number of the record, not only this one


class CompleteBody(Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """complete / done: the disposition, notes and edited fields."""

    agent: AgentId
    token: Token
    disposition: Annotated[str, msgspec.Meta(min_length=1)]
    notes: Notes = ""
    fields: dict[str, FieldValue] = {}
    callback: CallbackBody | None = None
    stop: bool = False  # "Done and Stop": the agent becomes Not Ready


class DncBody(Body, frozen=True, kw_only=True, forbid_unknown_fields=True):
    numbers: Annotated[list[str], msgspec.Meta(min_length=1, max_length=10000)]
    # for numbers without +; default: the campaign policy's region (global list: US)
    region: Annotated[str, msgspec.Meta(pattern=r"^([A-Za-z]{2})?$")] = ""


B = TypeVar("B", bound=Body)


async def decode(request: web.Request, kind: type[B]) -> B:
    """The request's JSON body as ``kind``; ApiError 400 naming the field otherwise."""
    body = await request.read()
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise body_error(exc, body) from None


def is_range(text: str, policy: CampaignPolicy) -> bool:
    """``tomorrow``, ``evening``, ``tomorrow morning``: a range word, not a time."""
    words = text.lower().split()
    if not words:
        return False
    if words[0] == "tomorrow":
        return True
    return len(words) == 1 and words[0] in policy.callback_ranges


def callback_request(
    body: CallbackBody, policy: CampaignPolicy, prefix: str = ""
) -> tuple[CallbackRequest, dict[str, str]]:
    """The store's CallbackRequest, and how its field names map back to the body's."""
    at = body.at if isinstance(body.at, str) else repr(body.at)
    at = at.strip()
    rng = body.range.strip()
    rename = {k: prefix + k for k in ("at", "range", "timezone", "number")}
    rename["callback"] = "callback"
    if at and not rng and is_range(at, policy):
        rng, at = at, ""
        rename["range"] = prefix + "at"
    request = CallbackRequest(at=at, range=rng, timezone=body.timezone.strip(),
                              number=body.number.strip(), personal=body.personal,
                              notes=body.notes)
    return request, rename

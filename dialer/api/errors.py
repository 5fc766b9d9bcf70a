"""HTTP errors of the agent API: every failure is JSON naming what to fix.

ARCHITECTURE.md habit 6: the edge translates the dialer's error tree. The shape is
always ``{"error": "...", "field": "..." | null}``, plus ``rule``/``citation`` for a
compliance refusal and ``state``/``event`` for a transition the record cannot take.

======================================  ======  =====================================
what                                    status  payload extras
======================================  ======  =====================================
body not JSON / wrong type / missing    400     field: dotted path in the body
InputError (bad field, disposition...)  400     field: the error's ``where``
read-only field edit                    403     field: ``fields.NAME``
unknown campaign / agent / record       404     field: campaign, agent, record_id
StaleLease                              409     field: token
InvalidTransition                       409     state, event
callback in the past / outside hours    422     rule (and citation when a rule cites)
ComplianceBlocked (accept re-check)     422     rule, detail
Redis unreachable                       503
======================================  ======  =====================================
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import msgspec
from aiohttp import web

from dialer.campaign.callbacks import CallbackRefused
from dialer.errors import ComplianceBlocked, DialerError, InputError, InvalidTransition, StaleLease

_enc = msgspec.json.Encoder()

# Reasons dialer.store.actions and dialer.campaign.callbacks give; tests/unit/test_api_errors.py
# pins them, so a change of wording there fails a test instead of changing a status code.
READ_ONLY_REASON = "read-only for agents"
_PAST_MARKERS = ("is in the past", "has passed")
RULE_CALLBACK_PAST = "callback.past"
RULE_CALLING_HOURS = "calling_hours"


class ApiError(Exception):
    """An HTTP error with a JSON body; ``extra`` keys are added to the payload."""

    def __init__(self, status: int, error: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.field = field
        self.extra = extra

    def payload(self) -> dict[str, Any]:
        return {"error": self.error, "field": self.field, **self.extra}

    def response(self, headers: Mapping[str, str] | None = None) -> web.Response:
        return web.Response(status=self.status, body=_enc.encode(self.payload()),
                            content_type="application/json", headers=headers)


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`")
_NAMED = re.compile(r"(?:missing required|unknown) field `(?P<name>[^`]+)`")


def field_of(message: str) -> str:
    """The body field a msgspec error names, dotted (``callback.at``, ``numbers[1]``)."""
    m = _AT.search(message)
    path = m.group("path") if m else ""
    path = path.replace("[...]", "").lstrip(".")
    named = _NAMED.search(message)
    if named:
        path = f"{path}.{named.group('name')}" if path else named.group("name")
    return path or "body"


def body_error(exc: msgspec.DecodeError, body: bytes) -> ApiError:
    """400 for a body msgspec could not decode or validate."""
    if isinstance(exc, msgspec.ValidationError):
        field = field_of(str(exc))
        message = _AT.sub("", str(exc))
        return ApiError(400, message if field == "body" else f"{field}: {message}", field)
    if not body.strip():
        return ApiError(400, "the request body is empty; send a JSON object", "body")
    return ApiError(400, f"malformed JSON: {exc}", "body")


def translate(exc: DialerError, rename: Mapping[str, str] | None = None) -> ApiError:
    """The HTTP error for a dialer error; ``rename`` maps a store field to the body's."""
    names = rename or {}
    if isinstance(exc, CallbackRefused):
        return _callback(exc, names.get(exc.where, exc.where))
    if isinstance(exc, InputError):
        field = names.get(exc.where, exc.where)
        if exc.where == "record_id":
            return ApiError(404, exc.reason, "record_id")
        if exc.reason == READ_ONLY_REASON:
            return ApiError(403, f"{field}: {exc.reason}", field)
        return ApiError(400, f"{field}: {exc.reason}", field)
    if isinstance(exc, StaleLease):
        return ApiError(409, f"{exc}: this lease is no longer current (the record was "
                        "finished, or its lease expired and it went back to the list); "
                        "reload the record", "token", record_id=exc.record_id)
    if isinstance(exc, InvalidTransition):
        return ApiError(409, str(exc), None, machine=exc.machine, state=exc.state,
                        event=exc.event)
    if isinstance(exc, ComplianceBlocked):
        return ApiError(422, str(exc), None, rule=exc.rule, record_id=exc.record_id,
                        detail=exc.detail)
    return ApiError(400, str(exc))


def _callback(exc: CallbackRefused, field: str) -> ApiError:
    refusal = exc.refusal
    if refusal is not None:
        return ApiError(422, f"{field}: {exc.reason}", field, rule=refusal.rule.value,
                        citation=refusal.citation, until=refusal.until)
    if exc.where in ("at", "range"):
        if any(m in exc.reason for m in _PAST_MARKERS):
            return ApiError(422, f"{field}: {exc.reason}", field, rule=RULE_CALLBACK_PAST)
        if "calling hours" in exc.reason:
            return ApiError(422, f"{field}: {exc.reason}", field, rule=RULE_CALLING_HOURS)
    return ApiError(400, f"{field}: {exc.reason}", field)


@contextmanager
def body_fields(rename: Mapping[str, str]) -> Iterator[None]:
    """Report errors of the store under the names the request body uses."""
    try:
        yield
    except DialerError as exc:
        raise translate(exc, rename) from exc

"""The agent API's error translation and body helpers, without Redis or a server.

The callback cases build real refusals with dialer.campaign.callbacks, so a change of
wording there that would silently turn a 422 into a 400 fails here.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from dialer.api.bodies import CallbackBody, CompleteBody, DeclineBody, callback_request, is_range
from dialer.api.errors import ApiError, body_error, field_of, translate
from dialer.campaign.callbacks import CallbackRefused, CallbackRequest, resolve_callback
from dialer.campaign.policy import CampaignPolicy
from dialer.errors import (
    ComplianceBlocked,
    DialerError,
    InputError,
    InvalidTransition,
    StaleLease,
)

NOW = dt.datetime(2024, 6, 10, 15, tzinfo=dt.UTC).timestamp()  # 11:00 in New York
NY = "+12125551234"
POLICY = CampaignPolicy()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"agent": 1, "token": 2, "disposition": "x"}', "agent"),
        (b'{"agent": "a", "token": "2", "disposition": "x"}', "token"),
        (b'{"agent": "a", "token": 0, "disposition": "x"}', "token"),
        (b'{"agent": "", "token": 1, "disposition": "x"}', "agent"),
        (b'{"token": 1, "disposition": "x"}', "agent"),
        (b'{"agent": "a", "token": 1, "disposition": "x", "stpo": true}', "stpo"),
        (b'{"agent": "a", "token": 1, "disposition": "x", "fields": {"v": {}}}', "fields"),
        (b'{"agent": "a", "token": 1, "disposition": "x", "callback": {"at": true}}',
         "callback.at"),
        (b'{"agent": "a", "token": 1, "disposition": "x", "callback": {"y": 1}}',
         "callback.y"),
        (b'[]', "body"),
        (b'{"agent"', "body"),
        (b"", "body"),
    ],
)
def test_body_errors_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(msgspec.DecodeError) as info:
        msgspec.json.decode(body, type=CompleteBody)
    err = body_error(info.value, body)
    assert err.status == 400 and err.field == field and err.error


def test_decline_reason_is_an_enum() -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.json.decode(b'{"agent": "a", "token": 1, "reason": "soon"}', type=DeclineBody)
    assert field_of(str(info.value)) == "reason"


@pytest.mark.parametrize(
    ("exc", "status", "field"),
    [
        (InputError("disposition", "unknown disposition 'x'"), 400, "disposition"),
        (InputError("fields.vip", "not a boolean"), 400, "fields.vip"),
        (InputError("fields.balance", "read-only for agents"), 403, "fields.balance"),
        (InputError("record_id", "no record 'x' in demo"), 404, "record_id"),
        (StaleLease("r1", 4), 409, "token"),
        (InvalidTransition("record", "offered", "complete"), 409, None),
        (ComplianceBlocked("dnc.campaign", "r1", "on the list"), 422, None),
        (DialerError("something else"), 400, None),
    ],
)
def test_translate(exc: DialerError, status: int, field: str | None) -> None:
    err = translate(exc)
    assert (err.status, err.field) == (status, field)
    payload = err.payload()
    assert payload["error"] and "field" in payload


def test_transition_and_compliance_carry_their_data() -> None:
    err = translate(InvalidTransition("record", "offered", "complete")).payload()
    assert (err["state"], err["event"]) == ("offered", "complete")
    err = translate(ComplianceBlocked("calling_hours", "r1", "22:30 local")).payload()
    assert err["rule"] == "calling_hours" and err["detail"] == "22:30 local"


def refused(**req: str) -> CallbackRefused:
    with pytest.raises(CallbackRefused) as info:
        resolve_callback(msgspec.convert(req, CallbackRequest), policy=POLICY, numbers=[NY],
                         default_index=0, record_zone="America/New_York", agent_id="a1",
                         now=NOW)
    return info.value


@pytest.mark.parametrize(
    ("req", "status", "rule", "field"),
    [
        ({"at": "2024-06-10T09:00"}, 422, "callback.past", "at"),
        ({"at": "2024-06-10T22:30"}, 422, "calling_hours", "at"),
        # 16:00 in London: this morning is over
        ({"range": "morning", "timezone": "Europe/London"}, 422, "callback.past", "range"),
        ({"range": "tomorrow nights"}, 400, None, "range"),
        ({"at": "tomorrow", "timezone": "Mars/Base"}, 400, None, "timezone"),
        ({"at": "whenever"}, 400, None, "at"),
        ({"at": "2024-06-11T10:00", "number": "555"}, 400, None, "number"),
    ],
)
def test_callback_refusals(req: dict[str, str], status: int, rule: str | None,
                           field: str) -> None:
    err = translate(refused(**req))
    assert (err.status, err.extra.get("rule"), err.field) == (status, rule, field)


def test_callback_field_names_follow_the_body() -> None:
    err = translate(refused(range="morning", timezone="Europe/London"),
                    {"range": "callback.at"})
    assert err.field == "callback.at" and err.error.startswith("callback.at: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("morning", True), ("Evening", True), ("tomorrow", True), ("tomorrow afternoon", True),
     ("2024-06-11T10:00", False), ("1718000000", False), ("", False), ("noon", False)],
)
def test_range_words(text: str, expected: bool) -> None:
    assert is_range(text, POLICY) is expected


def test_callback_request_moves_range_words_out_of_at() -> None:
    req, rename = callback_request(CallbackBody(at="tomorrow evening", personal=True), POLICY,
                                   "callback.")
    assert (req.at, req.range, req.personal) == ("", "tomorrow evening", True)
    assert rename["range"] == "callback.at" and rename["timezone"] == "callback.timezone"
    req, rename = callback_request(CallbackBody(at=1718100000), POLICY)
    assert req.at == "1718100000" and rename["range"] == "range"


def test_api_error_response_is_json() -> None:
    resp = ApiError(422, "nope", "at", rule="callback.past").response()
    assert resp.status == 422 and resp.content_type == "application/json"
    assert isinstance(resp.body, bytes)
    assert msgspec.json.decode(resp.body) == {"error": "nope", "field": "at",
                                              "rule": "callback.past"}

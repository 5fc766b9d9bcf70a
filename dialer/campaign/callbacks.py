"""Callbacks and reschedules: turn an agent's request into a checked due time.

A request names a time (exact, or a range: ``morning``, ``afternoon``, ``evening``,
``tomorrow``, ``tomorrow evening``), the IANA zone it is meant in, the number to call
(one of the record's or a new one) and whether it is personal. It is refused, with a
reason naming the field, when the time is in the past or outside the calling hours of
that number (16 CFR 310.4(c); 47 CFR 64.1200(c)(1)).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec

from dialer.campaign.policy import CampaignPolicy
from dialer.campaign.records import Callback
from dialer.compliance.gate import check_hours
from dialer.compliance.hours import get_zone, local, parse_schedule
from dialer.compliance.numbers import describe, number_info
from dialer.compliance.refusals import Refusal
from dialer.errors import InputError


class CallbackRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    at: str = ""  # "2025-03-10T14:30" (local to ``timezone``), ISO with offset, or epoch seconds
    range: str = ""  # "morning", "afternoon", "evening", "tomorrow", "tomorrow morning", ...
    timezone: str = ""  # IANA zone of ``at``/``range``; default: the record's, else the number's
    number: str = ""  # one of the record's numbers or a new one; default: the one just used
    personal: bool = False  # only the requesting agent may take it until the grace has passed
    notes: str = ""


class CallbackRefused(InputError):
    """The callback cannot be scheduled; ``where`` names the field, ``refusal`` the rule."""

    def __init__(self, where: str, reason: str, refusal: Refusal | None = None) -> None:
        super().__init__(where, reason)
        self.refusal = refusal


class Resolved(msgspec.Struct, frozen=True, kw_only=True):
    callback: Callback
    new_number: str = ""  # E.164 to append to the record when the callback is to a new number


def _zone_for(
    req: CallbackRequest, policy: CampaignPolicy, number: str, record_zone: str
) -> str:
    if req.timezone:
        try:
            get_zone(req.timezone)
        except ValueError:
            raise CallbackRefused("timezone", f"unknown time zone {req.timezone!r}") from None
        return req.timezone
    if record_zone:
        return record_zone
    _, zones = number_info(number)
    if zones:
        return zones[0]
    if policy.unknown_zone:
        return policy.unknown_zone
    raise CallbackRefused("timezone", f"no time zone is known for {number}; give one")


def _hours_refusal(
    policy: CampaignPolicy, number: str, record_zone: str, req_zone: str, t: float
) -> Refusal | None:
    """Calling hours at ``t`` for the number, and in the zone the contact named too."""
    refusal = check_hours(policy, number, record_zone, t)
    if refusal is None and req_zone and req_zone != record_zone:
        refusal = check_hours(policy, number, req_zone, t)
    return refusal


def _parse_at(text: str, zone: dt.tzinfo) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CallbackRefused(
            "at", f"{text!r} is not a time: use 2025-03-10T14:30 or epoch seconds"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.timestamp()


def resolve_callback(
    req: CallbackRequest,
    *,
    policy: CampaignPolicy,
    numbers: Sequence[str],
    default_index: int,
    record_zone: str,
    agent_id: str,
    now: float,
    region: str = "",
) -> Resolved:
    """Check a callback request and return when, on which number, for whom."""
    new_number = ""
    if req.number:
        try:
            number = describe(req.number, region or policy.region)[0]
        except ValueError as exc:
            raise CallbackRefused("number", str(exc)) from None
        if number in numbers:
            index = list(numbers).index(number)
        else:
            index, new_number = len(numbers), number
    else:
        if not 0 <= default_index < len(numbers):
            raise CallbackRefused("number", "the record has no number to call back")
        index, number = default_index, numbers[default_index]
    zone_name = _zone_for(req, policy, number, record_zone)
    zone = get_zone(zone_name)
    req_zone = req.timezone
    if bool(req.at) == bool(req.range):
        raise CallbackRefused("at", "give either an exact time (at) or a range, not both")
    if req.at:
        due = _parse_at(req.at, zone)
        if due < now:
            raise CallbackRefused(
                "at", f"{local(due, zone):%Y-%m-%d %H:%M} {zone_name} is in the past "
                f"(now {local(now, zone):%Y-%m-%d %H:%M})"
            )
        refusal = _hours_refusal(policy, number, record_zone, req_zone, due)
        if refusal is not None:
            raise CallbackRefused(
                "at", f"outside calling hours: {refusal.detail} [{refusal.citation}]", refusal
            )
        text = req.at
    else:
        due = _range_due(req.range, policy, number, record_zone, req_zone, zone, zone_name, now)
        text = req.range
    cb = Callback(
        due=due, number_index=index, agent_id=agent_id, personal=req.personal and bool(agent_id),
        timezone=zone_name, requested=f"{text} {zone_name}",
    )
    return Resolved(callback=cb, new_number=new_number)


def _range_due(
    text: str, policy: CampaignPolicy, number: str, record_zone: str, req_zone: str,
    zone: dt.tzinfo, zone_name: str, now: float,
) -> float:
    words = text.lower().split()
    offset = 0
    if words and words[0] == "tomorrow":
        offset, words = 1, words[1:]
    if len(words) > 1:
        raise CallbackRefused("range", f"unknown range {text!r}")
    day = local(now, zone).date() + dt.timedelta(days=offset)
    if words:
        name = words[0]
        spec = policy.callback_ranges.get(name)
        if spec is None:
            known = ", ".join([*policy.callback_ranges, "tomorrow"])
            raise CallbackRefused("range", f"unknown range {name!r}; use one of: {known}")
        window = parse_schedule(spec)[0]
        start_min, end_min = window.start, window.end
    else:
        name, start_min, end_min = "tomorrow", 0, 24 * 60
    start = _at(day, start_min, zone)
    end = _at(day, end_min, zone)
    if end <= now:
        raise CallbackRefused(
            "range", f"the {name} range of {day:%Y-%m-%d} has passed in {zone_name}; "
            "ask for a later range or tomorrow"
        )
    due = max(start, now)
    # Move into the calling hours, but never out of the asked-for range.
    for _ in range(8):
        refusal = _hours_refusal(policy, number, record_zone, req_zone, due)
        if refusal is None:
            return due
        if refusal.until is None or refusal.until >= end:
            raise CallbackRefused(
                "range", f"no time in the {name} range of {day:%Y-%m-%d} is inside calling "
                f"hours: {refusal.detail} [{refusal.citation}]", refusal,
            )
        due = refusal.until
    raise CallbackRefused("range", f"no time in the {name} range is inside calling hours")


def _at(day: dt.date, minutes: int, zone: dt.tzinfo) -> float:
    if minutes >= 24 * 60:
        nxt = day + dt.timedelta(days=1)
        return dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone).timestamp()
    h, m = divmod(minutes, 60)
    return dt.datetime(day.year, day.month, day.day, h, m, tzinfo=zone).timestamp()

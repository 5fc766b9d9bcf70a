"""The compliance gate: may this record be dialed now, and on which number?

Checked for every dial. The edge gathers the facts (DNC look-up results, the
record's attempt marks, the last abandoned call per number) and the gate decides,
with an explicit ``now``. Numbers are tried in the given order; the first one that
no rule refuses is dialed. When none passes, the gate says when the record could be
tried again (``retry_at``) or that it never can (``final_rule``).

Rules, in the order they are checked for each number:
1. attempts per record (16 CFR 310.4 does not cap attempts; the campaign does);
2. unusable number (invalid or a fax line on an earlier attempt);
3. DNC: global then campaign list; a list that could not be checked refuses too;
4. attempts per number, per record per day, per number per day (callee's local day);
5. UK mode: 72 h redial lock after an abandoned call (Ofcom persistent misuse);
6. calling hours in every zone the callee may be in (16 CFR 310.4(c)).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence

import msgspec

from dialer.campaign.policy import CampaignPolicy
from dialer.campaign.records import Mark
from dialer.compliance.hours import Schedule, common_next_open, get_zone, local, parse_schedule
from dialer.compliance.numbers import number_info
from dialer.compliance.refusals import Refusal, Rule, refuse

__all__ = ["DncStatus", "GateDecision", "GateInput", "NumberFacts", "Refusal", "check_hours",
           "check_number", "decide", "zones_for"]


class DncStatus(enum.StrEnum):
    """The result of looking a number up in the DNC lists, as the edge found it."""

    CLEAR = "clear"
    GLOBAL = "global"  # on the global internal list
    CAMPAIGN = "campaign"  # on the campaign's list
    UNAVAILABLE = "unavailable"  # the look-up failed: the number cannot be validated


class NumberFacts(msgspec.Struct, frozen=True, kw_only=True):
    number: str  # E.164
    dnc: DncStatus = DncStatus.UNAVAILABLE  # fail closed: unknown means "cannot validate"
    country: str = ""  # ISO country of the number; "" = look it up
    zones: tuple[str, ...] = ()  # IANA zones of the number (from the import); () = look up
    unusable: bool = False
    last_abandoned: float | None = None  # last abandoned call to this number, any record


class GateInput(msgspec.Struct, frozen=True, kw_only=True):
    record_id: str
    numbers: Sequence[NumberFacts]
    marks: Sequence[Mark] = ()  # every attempt of this record so far (lost ones too)
    timezone: str = ""  # the record's zone; overrides the numbers' zones when set
    order: Sequence[int] | None = None  # indices to try, in order; default 0..n-1


class GateDecision(msgspec.Struct, frozen=True, kw_only=True):
    index: int | None  # the number to dial, or None
    refusals: list[tuple[int, Refusal]]  # (number index, why) for every number refused
    retry_at: float | None = None  # when nothing passes: earliest time one might
    final_rule: Rule | None = None  # when nothing passes, ever: the rule that ends it


def zones_for(facts: NumberFacts, record_zone: str, policy: CampaignPolicy) -> list[str]:
    """The IANA zones the callee may be in: the record's, else the number's, else the default."""
    if record_zone:
        return [record_zone]
    zones = facts.zones or number_info(facts.number)[1]
    if zones:
        return list(zones)
    return [policy.unknown_zone] if policy.unknown_zone else []


def _day_count(marks: Sequence[Mark], zones: list[str], now: float, index: int | None) -> int:
    """Attempts (of one number, or all when index is None) on the callee's current local day.

    With several candidate zones an attempt counts when it falls on "today" in any of
    them, so the cap holds whichever zone the callee is really in.
    """
    count = 0
    todays = [(get_zone(z), local(now, get_zone(z)).date()) for z in zones]
    for m in marks:
        if index is not None and m.index not in (index, -1):
            continue
        if any(local(m.at, tz).date() == today for tz, today in todays):
            count += 1
    return count


def _next_midnight(zones: list[str], now: float) -> float:
    latest = now
    for z in zones:
        tz = get_zone(z)
        tomorrow = local(now, tz).date() + dt.timedelta(days=1)
        t = dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=tz).timestamp()
        latest = max(latest, t)
    return latest


def check_hours(
    policy: CampaignPolicy, number: str, record_zone: str, now: float,
    facts: NumberFacts | None = None,
) -> Refusal | None:
    """Calling hours alone, for one number (also used to validate callbacks)."""
    facts = facts or NumberFacts(number=number, dnc=DncStatus.CLEAR)
    zones = zones_for(facts, record_zone, policy)
    if not zones:
        return refuse(Rule.UNKNOWN_ZONE, f"no time zone is known for {number}")
    country = facts.country or number_info(number)[0]
    pairs: list[tuple[Schedule, dt.tzinfo]] = [
        (parse_schedule(policy.hours_for(z, country)), get_zone(z)) for z in zones
    ]
    opens = common_next_open(pairs, now)
    if opens is None:
        return refuse(
            Rule.NO_COMMON_WINDOW,
            f"{number}: the calling hours of {', '.join(zones)} have no time in common",
        )
    if opens > now:
        shown = ", ".join(
            f"{z} {local(now, get_zone(z)):%a %H:%M} ({policy.hours_for(z, country)})"
            for z in zones[:3]
        )
        more = f" and {len(zones) - 3} more zones" if len(zones) > 3 else ""
        return refuse(Rule.CALLING_HOURS, f"{number}: local time {shown}{more}", until=opens)
    return None


def check_number(
    policy: CampaignPolicy, inp: GateInput, index: int, now: float
) -> Refusal | None:
    """The first rule that refuses number ``index`` now, or None when it may be dialed."""
    marks = inp.marks
    if len(marks) >= policy.max_attempts_per_record:
        return refuse(
            Rule.ATTEMPTS_RECORD,
            f"{len(marks)} attempts, cap {policy.max_attempts_per_record}",
        )
    facts = inp.numbers[index]
    if facts.unusable:
        return refuse(Rule.NUMBER_UNUSABLE, f"{facts.number} was found invalid or a fax line")
    if facts.dnc is DncStatus.GLOBAL and policy.dnc_global:
        return refuse(Rule.DNC_GLOBAL, f"{facts.number} is on the global do-not-call list")
    if facts.dnc is DncStatus.CAMPAIGN:
        return refuse(Rule.DNC_CAMPAIGN, f"{facts.number} is on the campaign do-not-call list")
    if facts.dnc is DncStatus.UNAVAILABLE:
        return refuse(
            Rule.DNC_UNAVAILABLE,
            f"{facts.number}: the do-not-call lists could not be checked",
            until=now + max(policy.dnc_retry_s, 1.0),
        )
    on_number = sum(1 for m in marks if m.index in (index, -1))
    if on_number >= policy.max_attempts_per_number:
        return refuse(
            Rule.ATTEMPTS_NUMBER,
            f"{facts.number}: {on_number} attempts, cap {policy.max_attempts_per_number}",
        )
    zones = zones_for(facts, inp.timezone, policy)
    if zones and marks:
        today = _day_count(marks, zones, now, None)
        if today >= policy.max_attempts_per_day:
            return refuse(
                Rule.ATTEMPTS_DAY,
                f"{today} attempts today, cap {policy.max_attempts_per_day}",
                until=_next_midnight(zones, now),
            )
        today_n = _day_count(marks, zones, now, index)
        if today_n >= policy.max_attempts_per_number_per_day:
            return refuse(
                Rule.ATTEMPTS_NUMBER_DAY,
                f"{facts.number}: {today_n} attempts today, "
                f"cap {policy.max_attempts_per_number_per_day}",
                until=_next_midnight(zones, now),
            )
    if policy.uk_mode:
        last = facts.last_abandoned
        for m in marks:
            if m.index == index and m.outcome == "abandoned":
                last = m.at if last is None else max(last, m.at)
        if last is not None and now < last + policy.abandon_lock_s:
            return refuse(
                Rule.REDIAL_LOCK,
                f"{facts.number}: abandoned call at {last:.0f}, locked for "
                f"{policy.abandon_lock_s / 3600:g} h",
                until=last + policy.abandon_lock_s,
            )
    return check_hours(policy, facts.number, inp.timezone, now, facts)


# When every number is refused for good, the record ends; this picks the rule that
# names why (DNC first: it is what an auditor asks about).
_FINAL_ORDER = (
    Rule.DNC_GLOBAL,
    Rule.DNC_CAMPAIGN,
    Rule.ATTEMPTS_RECORD,
    Rule.ATTEMPTS_NUMBER,
    Rule.NUMBER_UNUSABLE,
    Rule.NO_COMMON_WINDOW,
    Rule.UNKNOWN_ZONE,
)


def decide(policy: CampaignPolicy, inp: GateInput, now: float) -> GateDecision:
    """Choose the number to dial now, or say when (or that never) the record can be."""
    order = list(inp.order) if inp.order is not None else list(range(len(inp.numbers)))
    refusals: list[tuple[int, Refusal]] = []
    for index in order:
        if not 0 <= index < len(inp.numbers):
            continue
        refusal = check_number(policy, inp, index, now)
        if refusal is None:
            return GateDecision(index=index, refusals=refusals)
        refusals.append((index, refusal))
        if refusal.rule is Rule.ATTEMPTS_RECORD:
            break  # the same for every number
    waits = [r.until for _, r in refusals if r.until is not None]
    if waits:
        return GateDecision(index=None, refusals=refusals, retry_at=min(waits))
    rules = {r.rule for _, r in refusals}
    final = next((rule for rule in _FINAL_ORDER if rule in rules), Rule.NUMBER_UNUSABLE)
    return GateDecision(index=None, refusals=refusals, final_rule=final)

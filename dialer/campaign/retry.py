"""What happens to a record after an attempt or a disposition: retry rules, pure.

``plan_attempt`` takes the record's progress and what just happened and returns the
new progress plus a :class:`Plan`: the state-machine event, when the record is due
again, its final disposition, and whether a number died or joins the DNC list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec

from dialer.campaign.policy import CampaignPolicy, Disposition, RetryRule
from dialer.campaign.records import Mark, Progress
from dialer.campaign.states import RecordEvent, RecordState
from dialer.compliance.hours import get_zone, local
from dialer.errors import InputError
from dialer.outcomes import Outcome


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    event: RecordEvent
    due: float | None = None  # next due time (pending) or the disposition deadline (wrapup)
    final: str = ""  # final disposition, when the record ends
    rule: str = ""  # which rule decided: "outcome:busy", "disposition:Sale", "cap:record"...
    add_dnc: bool = False  # the dialed number joins the campaign DNC list
    next_index: int = 0  # the number the next attempt starts from


class RecordDecision(msgspec.Struct, frozen=True, kw_only=True):
    """What the store did with a record after an action or an attempt (the API's answer)."""

    record_id: str
    state: RecordState
    event: RecordEvent
    due: float | None = None
    final: str = ""
    rule: str = ""
    agent_state: str = ""  # AgentWorkState the acting agent should move to, when one acted
    dnc_added: list[str] = []


def disposition_or_error(policy: CampaignPolicy, name: str, *, agent: bool) -> Disposition:
    d = policy.disposition(name)
    if d is None or (agent and not d.agent):
        choices = ", ".join(x.name for x in policy.dispositions if x.agent or not agent)
        raise InputError("disposition", f"unknown disposition {name!r}; use one of: {choices}")
    return d


def number_order(
    n: int, unusable: list[int] | set[int], start: int, first: int | None = None
) -> list[int]:
    """Usable number indices in dialing order: ``first`` (a callback's), then from ``start``."""
    dead = set(unusable)
    out: list[int] = []
    if first is not None and 0 <= first < n and first not in dead:
        out.append(first)
    for k in range(n):
        i = (start + k) % n if n else 0
        if i not in dead and i not in out:
            out.append(i)
    return out


def _count(progress: Progress, index: int) -> int:
    return sum(1 for m in progress.marks if m.index in (index, -1))


def _matches(m: Mark, key: str) -> bool:
    if key.startswith("disposition:"):
        return m.disposition == key[len("disposition:"):]
    return m.outcome == key


def _next_local_midnight(zones: Sequence[str], now: float) -> float:
    latest = now
    for z in zones:
        tz = get_zone(z)
        tomorrow = local(now, tz).date() + dt.timedelta(days=1)
        latest = max(latest, dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day,
                                         tzinfo=tz).timestamp())
    return latest


def _today(m: Mark, zones: Sequence[str], now: float) -> bool:
    return any(local(m.at, get_zone(z)).date() == local(now, get_zone(z)).date() for z in zones)


def _decide(
    policy: CampaignPolicy,
    progress: Progress,
    *,
    n_numbers: int,
    index: int,
    key: str,
    rule: RetryRule,
    disposition: Disposition | None,
    now: float,
    retry_event: RecordEvent,
    final_event: RecordEvent,
    zones: Sequence[str] = (),
) -> tuple[Plan, Progress]:
    unusable = set(progress.unusable)
    if rule.unusable_number or (disposition is not None and disposition.unusable_number):
        if 0 <= index < n_numbers:
            unusable.add(index)
    progress = msgspec.structs.replace(progress, unusable=sorted(unusable))
    add_dnc = disposition is not None and disposition.dnc
    final, why = "", ""
    usable = [i for i in range(n_numbers) if i not in unusable]
    # a rule's per-number cap moves on to the next number; when every number is used up
    # for this rule, the record ends
    if rule.max_per_number:
        spent = {i for i in usable if sum(
            1 for m in progress.marks if m.index == i and _matches(m, key)
        ) >= rule.max_per_number}
    else:
        spent = set()
    if disposition is not None and disposition.final:
        final, why = disposition.name, f"disposition:{disposition.name}"
    elif rule.final:
        final, why = rule.disposition or policy.max_attempts_disposition, f"{key}:final"
    elif rule.max_attempts and progress.counts.get(key, 0) >= rule.max_attempts:
        final, why = rule.disposition or policy.max_attempts_disposition, f"{key}:max_attempts"
    elif not usable:
        final, why = policy.bad_record_disposition, "numbers:none_usable"
    elif spent and spent == set(usable):
        final, why = rule.disposition or policy.max_attempts_disposition, f"{key}:max_per_number"
    elif len(progress.marks) >= policy.max_attempts_per_record:
        final, why = policy.max_attempts_disposition, "cap:record"
    elif all(_count(progress, i) >= policy.max_attempts_per_number for i in usable):
        final, why = policy.max_attempts_disposition, "cap:number"
    if final:
        progress = msgspec.structs.replace(progress, final=final)
        return Plan(event=final_event, final=final, rule=why, add_dnc=add_dnc), progress
    start = index + 1 if (rule.next_number or index in unusable or index in spent) else index
    order = number_order(n_numbers, unusable | spent, max(start, 0) % max(n_numbers, 1))
    due = now + rule.delay_s
    if rule.max_per_day and zones:
        today = sum(1 for m in progress.marks if _matches(m, key) and _today(m, zones, now))
        if today >= rule.max_per_day:
            due = max(due, _next_local_midnight(zones, now))
    return (
        Plan(
            event=retry_event,
            due=due,
            rule=key if key.startswith("disposition:") else f"outcome:{key}",
            add_dnc=add_dnc,
            next_index=order[0] if order else 0,
        ),
        progress,
    )


def plan_attempt(
    policy: CampaignPolicy,
    progress: Progress,
    *,
    n_numbers: int,
    index: int,
    outcome: Outcome,
    disposition: str | None,
    now: float,
    zones: Sequence[str] = (),
) -> tuple[Plan, Progress]:
    """An attempt ended with ``outcome`` (and maybe an agent's ``disposition``).

    ``zones`` are the callee's IANA zones, for the rules' per-day caps.
    """
    d = disposition_or_error(policy, disposition, agent=False) if disposition else None
    counts = dict(progress.counts)
    counts[outcome.value] = counts.get(outcome.value, 0) + 1
    if d is not None:
        counts[f"disposition:{d.name}"] = counts.get(f"disposition:{d.name}", 0) + 1
    progress = msgspec.structs.replace(
        progress,
        marks=[*progress.marks, Mark(now, index, outcome.value, d.name if d else "")],
        counts=counts,
        last_index=index,
        callback=None,
    )
    if d is None and outcome is Outcome.ANSWERED and policy.wrapup_timeout_s > 0:
        return (
            Plan(
                event=RecordEvent.AWAIT_DISPOSITION,
                due=now + policy.wrapup_timeout_s,
                rule="outcome:answered",
                next_index=index,
            ),
            progress,
        )
    if d is not None:
        key, rule = f"disposition:{d.name}", d.retry
    else:
        key, rule = outcome.value, policy.rule_for_outcome(outcome.value)
    return _decide(
        policy,
        progress,
        n_numbers=n_numbers,
        index=index,
        key=key,
        rule=rule,
        disposition=d,
        now=now,
        retry_event=RecordEvent.RETRY,
        final_event=RecordEvent.FINISH,
        zones=zones,
    )


def plan_disposition(
    policy: CampaignPolicy,
    progress: Progress,
    *,
    n_numbers: int,
    disposition: str,
    now: float,
    agent: bool = True,
    zones: Sequence[str] = (),
) -> tuple[Plan, Progress]:
    """The agent's disposition for an attempt already recorded (the record is in wrapup)."""
    d = disposition_or_error(policy, disposition, agent=agent)
    key = f"disposition:{d.name}"
    counts = dict(progress.counts)
    counts[key] = counts.get(key, 0) + 1
    marks = list(progress.marks)
    if marks:  # the disposition belongs to the last attempt
        last = marks[-1]
        marks[-1] = Mark(last.at, last.index, last.outcome, d.name)
    progress = msgspec.structs.replace(progress, counts=counts, marks=marks)
    return _decide(
        policy,
        progress,
        n_numbers=n_numbers,
        index=progress.last_index,
        key=key,
        rule=d.retry,
        disposition=d,
        now=now,
        retry_event=RecordEvent.COMPLETE_RETRY,
        final_event=RecordEvent.COMPLETE_FINAL,
        zones=zones,
    )

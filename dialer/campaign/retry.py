"""What happens to a record after an attempt or a disposition: retry rules, pure.

``plan_attempt`` takes the record's progress and what just happened and returns the
new progress plus a :class:`Plan`: the state-machine event, when the record is due
again, its final disposition, and whether a number died or joins the DNC list.
"""

from __future__ import annotations

import msgspec

from dialer.campaign.policy import CampaignPolicy, Disposition, RetryRule
from dialer.campaign.records import Mark, Progress
from dialer.campaign.states import RecordEvent, RecordState
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
) -> tuple[Plan, Progress]:
    unusable = set(progress.unusable)
    if rule.unusable_number or (disposition is not None and disposition.unusable_number):
        if 0 <= index < n_numbers:
            unusable.add(index)
    progress = msgspec.structs.replace(progress, unusable=sorted(unusable))
    add_dnc = disposition is not None and disposition.dnc
    final, why = "", ""
    usable = [i for i in range(n_numbers) if i not in unusable]
    if disposition is not None and disposition.final:
        final, why = disposition.name, f"disposition:{disposition.name}"
    elif rule.final:
        final, why = rule.disposition or policy.max_attempts_disposition, f"{key}:final"
    elif rule.max_attempts and progress.counts.get(key, 0) >= rule.max_attempts:
        final, why = rule.disposition or policy.max_attempts_disposition, f"{key}:max_attempts"
    elif not usable:
        final, why = policy.bad_record_disposition, "numbers:none_usable"
    elif len(progress.marks) >= policy.max_attempts_per_record:
        final, why = policy.max_attempts_disposition, "cap:record"
    elif all(_count(progress, i) >= policy.max_attempts_per_number for i in usable):
        final, why = policy.max_attempts_disposition, "cap:number"
    if final:
        progress = msgspec.structs.replace(progress, final=final)
        return Plan(event=final_event, final=final, rule=why, add_dnc=add_dnc), progress
    start = index + 1 if (rule.next_number or index in unusable) else index
    order = number_order(n_numbers, unusable, max(start, 0) % max(n_numbers, 1))
    return (
        Plan(
            event=retry_event,
            due=now + rule.delay_s,
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
) -> tuple[Plan, Progress]:
    """An attempt ended with ``outcome`` (and maybe an agent's ``disposition``)."""
    d = disposition_or_error(policy, disposition, agent=False) if disposition else None
    counts = dict(progress.counts)
    counts[outcome.value] = counts.get(outcome.value, 0) + 1
    if d is not None:
        counts[f"disposition:{d.name}"] = counts.get(f"disposition:{d.name}", 0) + 1
    progress = msgspec.structs.replace(
        progress,
        marks=[*progress.marks, Mark(now, index, outcome.value)],
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
    )


def plan_disposition(
    policy: CampaignPolicy,
    progress: Progress,
    *,
    n_numbers: int,
    disposition: str,
    now: float,
    agent: bool = True,
) -> tuple[Plan, Progress]:
    """The agent's disposition for an attempt already recorded (the record is in wrapup)."""
    d = disposition_or_error(policy, disposition, agent=agent)
    key = f"disposition:{d.name}"
    counts = dict(progress.counts)
    counts[key] = counts.get(key, 0) + 1
    progress = msgspec.structs.replace(progress, counts=counts)
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
    )

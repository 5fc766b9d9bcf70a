"""Retry rules and dispositions: what happens to a record after an attempt."""

from __future__ import annotations

import msgspec
import pytest

from dialer.campaign.policy import CampaignPolicy, Disposition, RetryRule
from dialer.campaign.records import Mark, Progress
from dialer.campaign.retry import number_order, plan_attempt, plan_disposition
from dialer.campaign.states import RecordEvent
from dialer.errors import InputError
from dialer.outcomes import Outcome

NOW = 1_718_031_600.0
P = CampaignPolicy()


@pytest.mark.parametrize(
    ("outcome", "event", "delay"),
    [
        (Outcome.BUSY, RecordEvent.RETRY, 900),
        (Outcome.NO_ANSWER, RecordEvent.RETRY, 3 * 3600),
        (Outcome.MACHINE, RecordEvent.RETRY, 4 * 3600),
        (Outcome.FAILED, RecordEvent.RETRY, 600),
        (Outcome.ABANDONED, RecordEvent.RETRY, 3600),
        (Outcome.REJECTED, RecordEvent.RETRY, 86400),
        (Outcome.ANSWERED, RecordEvent.AWAIT_DISPOSITION, P.wrapup_timeout_s),
    ],
)
def test_system_outcome_defaults(outcome: Outcome, event: RecordEvent, delay: float) -> None:
    plan, progress = plan_attempt(P, Progress(), n_numbers=2, index=0, outcome=outcome,
                                  disposition=None, now=NOW)
    assert plan.event is event and plan.due == NOW + delay
    assert progress.marks == [Mark(NOW, 0, outcome.value)]
    assert progress.counts[outcome.value] == 1


def test_invalid_number_moves_on_then_bad_record() -> None:
    plan, progress = plan_attempt(P, Progress(), n_numbers=2, index=0,
                                  outcome=Outcome.INVALID_NUMBER, disposition=None, now=NOW)
    assert plan.event is RecordEvent.RETRY and progress.unusable == [0] and plan.next_index == 1
    plan, progress = plan_attempt(P, progress, n_numbers=2, index=1, outcome=Outcome.FAX,
                                  disposition=None, now=NOW + 1)
    assert plan.event is RecordEvent.FINISH and plan.final == "Bad Record"
    assert progress.final == "Bad Record"


def test_outcome_cap_ends_record() -> None:
    policy = CampaignPolicy(outcome_rules={"busy": RetryRule(delay_s=60, max_attempts=2)},
                            max_attempts_per_number=10, max_attempts_per_record=10)
    plan, prog = plan_attempt(policy, Progress(), n_numbers=1, index=0, outcome=Outcome.BUSY,
                              disposition=None, now=NOW)
    assert plan.event is RecordEvent.RETRY
    plan, prog = plan_attempt(policy, prog, n_numbers=1, index=0, outcome=Outcome.BUSY,
                              disposition=None, now=NOW + 60)
    assert plan.event is RecordEvent.FINISH and plan.final == "Max Attempts"
    assert plan.rule == "busy:max_attempts"


def test_record_and_number_caps() -> None:
    progress = Progress(marks=[Mark(NOW - 9e5 + i, 0, "busy") for i in range(5)])
    plan, _ = plan_attempt(P, progress, n_numbers=2, index=1, outcome=Outcome.NO_ANSWER,
                           disposition=None, now=NOW)
    assert plan.final == "Max Attempts" and plan.rule == "cap:record"
    progress = Progress(marks=[Mark(NOW - 9e5 + i, 0, "busy") for i in range(2)])
    plan, _ = plan_attempt(P, progress, n_numbers=1, index=0, outcome=Outcome.BUSY,
                           disposition=None, now=NOW)
    assert plan.final == "Max Attempts" and plan.rule == "cap:number"


def test_dispositions() -> None:
    plan, _ = plan_attempt(P, Progress(), n_numbers=1, index=0, outcome=Outcome.ANSWERED,
                           disposition="Sale", now=NOW)
    assert plan.event is RecordEvent.FINISH and plan.final == "Sale"
    plan, _ = plan_attempt(P, Progress(), n_numbers=1, index=0, outcome=Outcome.ANSWERED,
                           disposition="Do Not Call", now=NOW)
    assert plan.add_dnc and plan.final == "Do Not Call"
    plan, _ = plan_disposition(P, Progress(last_index=0, marks=[Mark(NOW, 0, "answered")]),
                               n_numbers=1, disposition="Call Back", now=NOW)
    assert plan.event is RecordEvent.COMPLETE_RETRY and plan.due == NOW + 86400
    plan, prog = plan_disposition(P, Progress(last_index=0), n_numbers=2,
                                  disposition="Wrong Number", now=NOW)
    assert plan.event is RecordEvent.COMPLETE_RETRY and prog.unusable == [0]
    assert plan.next_index == 1


def test_unknown_or_system_disposition_refused_for_agents() -> None:
    with pytest.raises(InputError) as err:
        plan_disposition(P, Progress(), n_numbers=1, disposition="Whatever", now=NOW)
    assert err.value.where == "disposition" and "Sale" in err.value.reason
    with pytest.raises(InputError):
        plan_disposition(P, Progress(), n_numbers=1, disposition="Max Attempts", now=NOW)
    plan, _ = plan_disposition(P, Progress(), n_numbers=1, disposition="No Disposition",
                               now=NOW, agent=False)
    assert plan.event is RecordEvent.COMPLETE_RETRY


def test_custom_disposition_with_rule() -> None:
    policy = CampaignPolicy(dispositions=[
        *CampaignPolicy().dispositions,
        Disposition(name="Left Message", final=False,
                    retry=RetryRule(delay_s=7200, max_attempts=1, disposition="Sale")),
    ])
    plan, _ = plan_disposition(policy, Progress(), n_numbers=1, disposition="Left Message",
                               now=NOW)
    assert plan.event is RecordEvent.COMPLETE_FINAL and plan.final == "Sale"


@pytest.mark.parametrize(
    ("n", "dead", "start", "first", "order"),
    [
        (3, [], 0, None, [0, 1, 2]),
        (3, [], 1, None, [1, 2, 0]),
        (3, [1], 1, None, [2, 0]),
        (3, [], 0, 2, [2, 0, 1]),
        (3, [2], 0, 2, [0, 1]),
        (0, [], 0, None, []),
    ],
)
def test_number_order(n: int, dead: list[int], start: int, first: int | None,
                      order: list[int]) -> None:
    assert number_order(n, dead, start, first) == order


def test_policy_validation_names_fields() -> None:
    cases = {
        b'calling_hours = "9-5"': "calling_hours",
        b'bad_record_disposition = "Nope"': "bad_record_disposition",
        b'[outcome_rules.bogus]\ndelay_s = 1': "outcome_rules.bogus",
        b'[region_hours]\nZZZ = "08:00-21:00"': "region_hours.ZZZ",
        b'uk_mode = true\nabandon_lock_s = 3600': "abandon_lock_s",
        b'max_attempts_per_record = 0': "max_attempts_per_record",
        b'unknown_zone = "Mars/Base"': "unknown_zone",
        b'surprise = 1': "surprise",
        b'[[fields]]\nname = "id"': "fields[0].name",
    }
    for text, field in cases.items():
        with pytest.raises(msgspec.ValidationError) as err:
            msgspec.toml.decode(text, type=CampaignPolicy)
        assert field in str(err.value), (text, str(err.value))


def test_policy_from_toml() -> None:
    text = b"""
calling_hours = "mon-sat 09:00-20:00"
uk_mode = true
[region_hours]
GB = "09:00-21:00"
"America/Chicago" = "10:00-19:00"
[outcome_rules.busy]
delay_s = 300
max_attempts = 2
[[fields]]
name = "balance"
kind = "number"
editable = false
"""
    policy = msgspec.toml.decode(text, type=CampaignPolicy)
    assert policy.rule_for_outcome("busy").delay_s == 300
    assert policy.rule_for_outcome("no_answer").delay_s == 3 * 3600
    assert policy.hours_for("Europe/London", "GB") == "09:00-21:00"
    assert policy.hours_for("America/Chicago", "US") == "10:00-19:00"
    assert policy.hours_for("America/Denver", "US") == "mon-sat 09:00-20:00"
    assert not policy.field_defs()["balance"].editable


def test_rule_caps_per_number_and_per_day() -> None:
    policy = CampaignPolicy(
        outcome_rules={"busy": RetryRule(delay_s=60, max_per_number=2, max_per_day=3)},
        max_attempts_per_record=20, max_attempts_per_number=20,
    )
    ny = ["America/New_York"]
    now = 1_718_031_600.0  # Mon 2024-06-10 15:00 UTC, 11:00 New York
    prog = Progress()
    plan, prog = plan_attempt(policy, prog, n_numbers=2, index=0, outcome=Outcome.BUSY,
                              disposition=None, now=now, zones=ny)
    assert plan.next_index == 0 and plan.due == now + 60
    plan, prog = plan_attempt(policy, prog, n_numbers=2, index=0, outcome=Outcome.BUSY,
                              disposition=None, now=now + 60, zones=ny)
    assert plan.next_index == 1  # two busies on number 0: move on
    plan, prog = plan_attempt(policy, prog, n_numbers=2, index=1, outcome=Outcome.BUSY,
                              disposition=None, now=now + 120, zones=ny)
    # third busy today: wait for the next local day (midnight New York = 04:00 UTC)
    assert plan.event is RecordEvent.RETRY and plan.due == 1_718_078_400.0
    plan, prog = plan_attempt(policy, prog, n_numbers=2, index=1, outcome=Outcome.BUSY,
                              disposition=None, now=1_718_100_000.0, zones=ny)
    assert plan.event is RecordEvent.FINISH and plan.rule == "busy:max_per_number"


def test_disposition_is_kept_on_the_mark() -> None:
    prog = Progress(marks=[Mark(NOW, 0, "answered")], last_index=0)
    _, prog = plan_disposition(P, prog, n_numbers=1, disposition="Call Back", now=NOW + 5)
    assert prog.marks[-1] == Mark(NOW, 0, "answered", "Call Back")
    _, prog2 = plan_attempt(P, Progress(), n_numbers=1, index=0, outcome=Outcome.ANSWERED,
                            disposition="Sale", now=NOW)
    assert prog2.marks[-1].disposition == "Sale"

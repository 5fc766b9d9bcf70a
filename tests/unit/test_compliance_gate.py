"""The compliance gate: 0 dials to DNC numbers, 0 outside calling hours, caps never exceeded.

Property tests draw the callee's zone from every IANA zone (a record zone) or from the
zones phonenumbers gives example numbers of every region, instants from 2000-2040 and
around DST changes, and DNC statuses / attempt histories at random.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.campaign.policy import CampaignPolicy
from dialer.campaign.records import Mark
from dialer.compliance.gate import DncStatus, GateInput, NumberFacts, decide, zones_for
from dialer.compliance.hours import allowed_at, get_zone, parse_schedule
from dialer.compliance.numbers import normalize, number_info
from dialer.compliance.refusals import CITATIONS, Rule

ALL_ZONES = sorted(zoneinfo.available_timezones())
T0 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()
T1 = dt.datetime(2040, 1, 1, tzinfo=dt.UTC).timestamp()
NOW = dt.datetime(2024, 6, 10, 15, tzinfo=dt.UTC).timestamp()  # Mon 11:00 New York


def _examples() -> list[str]:
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            ex = phonenumbers.example_number_for_type(region, kind)
            if ex is not None:
                out.append(phonenumbers.format_number(ex, phonenumbers.PhoneNumberFormat.E164))
    return sorted(set(out))


EXAMPLES = _examples()
POLICIES = [
    CampaignPolicy(),
    CampaignPolicy(calling_hours="mon-fri 09:00-20:00, sat 10:00-17:00",
                   region_hours={"GB": "09:00-21:00", "America/Chicago": "10:00-19:00"}),
    CampaignPolicy(calling_hours="08:00-08:30", uk_mode=True),
    CampaignPolicy(unknown_zone="UTC", max_attempts_per_day=1),
]

numbers_st = st.lists(st.sampled_from(EXAMPLES), min_size=1, max_size=4, unique=True)
dnc_st = st.sampled_from(list(DncStatus))
instants = st.floats(min_value=T0, max_value=T1, allow_nan=False)


@st.composite
def gate_inputs(draw: st.DrawFn, now: float) -> GateInput:
    numbers = draw(numbers_st)
    facts = [
        NumberFacts(number=n, dnc=draw(dnc_st), unusable=draw(st.booleans()),
                    last_abandoned=draw(st.none() | st.floats(now - 5 * 86400, now)))
        for n in numbers
    ]
    marks = draw(st.lists(
        st.builds(Mark, st.floats(now - 4 * 86400, now), st.integers(-1, len(numbers) - 1),
                  st.sampled_from(["busy", "no_answer", "abandoned", "lost"])),
        max_size=8,
    ))
    tz = draw(st.sampled_from(["", ""] + ALL_ZONES))
    return GateInput(record_id="r", numbers=facts, marks=marks, timezone=tz)


def _assert_compliant(policy: CampaignPolicy, inp: GateInput, now: float) -> None:
    d = decide(policy, inp, now)
    for _, refusal in d.refusals:
        assert refusal.citation == CITATIONS[refusal.rule]
        assert refusal.detail
        assert refusal.until is None or refusal.until > now
    if d.index is None:
        assert (d.retry_at is None) != (d.final_rule is None)
        return
    facts = inp.numbers[d.index]
    # 0 dials to DNC numbers (or numbers whose DNC status is unknown)
    assert facts.dnc is DncStatus.CLEAR
    assert not facts.unusable
    # 0 dials outside calling hours, in every zone the callee may be in
    zones = zones_for(facts, inp.timezone, policy)
    assert zones
    country, _ = number_info(facts.number)
    for z in zones:
        assert allowed_at(parse_schedule(policy.hours_for(z, country)), get_zone(z), now), z
    # caps never exceeded: this dial is within every limit
    assert len(inp.marks) < policy.max_attempts_per_record
    on_number = sum(1 for m in inp.marks if m.index in (d.index, -1))
    assert on_number < policy.max_attempts_per_number
    if policy.uk_mode:
        last = [m.at for m in inp.marks if m.index == d.index and m.outcome == "abandoned"]
        if facts.last_abandoned is not None:
            last.append(facts.last_abandoned)
        assert all(now >= t + policy.abandon_lock_s for t in last)


@settings(max_examples=600, deadline=None)
@given(st.data(), st.sampled_from(POLICIES), instants)
def test_gate_never_dials_dnc_or_outside_hours(data: st.DataObject, policy: CampaignPolicy,
                                               now: float) -> None:
    _assert_compliant(policy, data.draw(gate_inputs(now)), now)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from(ALL_ZONES), st.floats(0, 366 * 86400))
def test_every_iana_zone_around_the_year(data: st.DataObject, zone: str, offset: float) -> None:
    """A record zone from every IANA zone, any instant of 2024 (both DST changes inside)."""
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp() + offset
    inp = GateInput(record_id="r", numbers=[NumberFacts(number="+12125551234",
                                                        dnc=DncStatus.CLEAR)], timezone=zone)
    d = decide(CampaignPolicy(), inp, now)
    local = dt.datetime.fromtimestamp(now, get_zone(zone))
    inside = 8 * 60 <= local.hour * 60 + local.minute < 21 * 60
    assert (d.index == 0) == inside
    if not inside:
        assert d.retry_at is not None and d.retry_at > now
        nxt = dt.datetime.fromtimestamp(d.retry_at, get_zone(zone))
        assert (nxt.hour, nxt.minute) in ((8, 0), (9, 0))  # 09:00 only when 08:00 is in a gap


def test_dnc_number_is_skipped_and_next_used() -> None:
    inp = GateInput(record_id="r", numbers=[
        NumberFacts(number="+12125551234", dnc=DncStatus.GLOBAL),
        NumberFacts(number="+12125551235", dnc=DncStatus.UNAVAILABLE),
        NumberFacts(number="+12125551236", dnc=DncStatus.CLEAR),
    ])
    d = decide(CampaignPolicy(), inp, NOW)
    assert d.index == 2
    assert [(i, r.rule) for i, r in d.refusals] == [(0, Rule.DNC_GLOBAL),
                                                    (1, Rule.DNC_UNAVAILABLE)]
    assert "310.4(b)(1)(iii)(B)" in d.refusals[0][1].citation


def test_record_ends_when_every_number_is_dnc() -> None:
    inp = GateInput(record_id="r", numbers=[
        NumberFacts(number="+12125551234", dnc=DncStatus.GLOBAL),
        NumberFacts(number="+12125551235", dnc=DncStatus.CAMPAIGN),
    ])
    d = decide(CampaignPolicy(), inp, NOW)
    assert d.index is None and d.final_rule is Rule.DNC_GLOBAL and d.retry_at is None


def test_unavailable_dnc_is_retried_later_never_dialed() -> None:
    inp = GateInput(record_id="r", numbers=[NumberFacts(number="+12125551234",
                                                        dnc=DncStatus.UNAVAILABLE)])
    d = decide(CampaignPolicy(dnc_retry_s=120), inp, NOW)
    assert d.index is None and d.retry_at == NOW + 120


def test_outside_hours_defers_to_opening() -> None:
    night = dt.datetime(2024, 6, 10, 3, tzinfo=dt.UTC).timestamp()  # 23:00 NY
    inp = GateInput(record_id="r", numbers=[NumberFacts(number="+12125551234",
                                                        dnc=DncStatus.CLEAR)])
    d = decide(CampaignPolicy(), inp, night)
    assert d.index is None
    assert d.retry_at == dt.datetime(2024, 6, 10, 12, tzinfo=dt.UTC).timestamp()  # 08:00 NY
    assert d.refusals[0][1].rule is Rule.CALLING_HOURS
    assert "310.4(c)" in d.refusals[0][1].citation and "64.1200(c)(1)" in d.refusals[0][1].citation


def test_number_with_many_zones_needs_all_of_them() -> None:
    # A US toll-free number may ring anywhere from Guam to Newfoundland.
    _, zones = number_info("+18005551234")
    assert len(zones) > 10
    inp = GateInput(record_id="r", numbers=[NumberFacts(number="+18005551234",
                                                        dnc=DncStatus.CLEAR)])
    d = decide(CampaignPolicy(), inp, NOW)  # 11:00 NY = 05:00 Honolulu
    assert d.index is None and d.retry_at is not None
    _assert_compliant(CampaignPolicy(), inp, d.retry_at)
    assert decide(CampaignPolicy(), inp, d.retry_at).index == 0


def test_uk_mode_72_hour_lock() -> None:
    policy = CampaignPolicy(uk_mode=True, region_hours={"GB": "00:00-24:00"})
    uk = normalize("07400 123456", "GB")
    marks = [Mark(NOW - 3600, 0, "abandoned")]
    inp = GateInput(record_id="r", numbers=[NumberFacts(number=uk, dnc=DncStatus.CLEAR)],
                    marks=marks)
    d = decide(policy, inp, NOW)
    assert d.index is None and d.refusals[0][1].rule is Rule.REDIAL_LOCK
    assert "Ofcom" in d.refusals[0][1].citation
    assert d.retry_at == NOW - 3600 + 72 * 3600
    # an abandoned call seen on another record (last_abandoned) locks the number too
    inp2 = GateInput(record_id="r", numbers=[NumberFacts(number=uk, dnc=DncStatus.CLEAR,
                                                         last_abandoned=NOW - 60)])
    assert decide(policy, inp2, NOW).index is None
    assert decide(CampaignPolicy(region_hours={"GB": "00:00-24:00"}), inp, NOW).index == 0


@pytest.mark.parametrize(
    ("marks", "rule"),
    [
        ([Mark(NOW - 86400 * (i + 2), 0, "busy") for i in range(6)], Rule.ATTEMPTS_RECORD),
        ([Mark(NOW - 86400 * (i + 2), 0, "busy") for i in range(3)], Rule.ATTEMPTS_NUMBER),
        ([Mark(NOW - 60 * (i + 1), 1, "busy") for i in range(3)], Rule.ATTEMPTS_DAY),
        ([Mark(NOW - 60 * (i + 1), 0, "busy") for i in range(2)], Rule.ATTEMPTS_NUMBER_DAY),
    ],
)
def test_attempt_caps(marks: list[Mark], rule: Rule) -> None:
    inp = GateInput(record_id="r", numbers=[
        NumberFacts(number="+12125551234", dnc=DncStatus.CLEAR),
        NumberFacts(number="+12125551235", dnc=DncStatus.CLEAR, unusable=True),
    ], marks=marks, order=[0])
    d = decide(CampaignPolicy(), inp, NOW)
    assert d.index is None
    assert d.refusals[0][1].rule is rule


def test_unknown_zone_is_never_dialed_without_a_default() -> None:
    # Inmarsat (+870): valid, but no time zone in phonenumbers' data.
    inp = GateInput(record_id="r", numbers=[NumberFacts(number="+870773111632",
                                                        dnc=DncStatus.CLEAR)])
    d = decide(CampaignPolicy(), inp, NOW)
    assert d.index is None and d.final_rule is Rule.UNKNOWN_ZONE
    assert decide(CampaignPolicy(unknown_zone="UTC"), inp, NOW).index == 0


def test_zones_stored_at_import_match_the_lookup() -> None:
    from dialer.compliance.numbers import describe

    for n in EXAMPLES:
        e164, country, zones = describe(n, "US")
        assert e164 == n
        assert (country, zones) == number_info(n)
        stored = NumberFacts(number=n, dnc=DncStatus.CLEAR, country=country, zones=zones)
        looked_up = NumberFacts(number=n, dnc=DncStatus.CLEAR)
        for now in (NOW, NOW + 9 * 3600, NOW + 15 * 3600):
            a = decide(CampaignPolicy(), GateInput(record_id="r", numbers=[stored]), now)
            b = decide(CampaignPolicy(), GateInput(record_id="r", numbers=[looked_up]), now)
            assert (a.index, a.retry_at, a.final_rule) == (b.index, b.retry_at, b.final_rule)

"""A campaign's calling policy: dispositions, retry rules, caps, hours, callbacks.

Embedded in the daemon's config as ``[campaigns.policy]``; every field has a safe
default, so an empty table is a working policy. Decoding validates the whole policy
(``__post_init__`` raises ``ValueError`` naming the field, which the config loader
reports with its dotted path).
"""

from __future__ import annotations

import msgspec

from dialer.campaign.records import BUILTIN_FIELDS, FieldDef, FieldKind
from dialer.compliance.hours import is_valid_zone, parse_schedule
from dialer.outcomes import Outcome


class RetryRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What happens after an attempt that ended with one outcome or disposition."""

    delay_s: float = 3600.0  # wait this long before the record is dialed again
    max_attempts: int = 0  # attempts ending like this before the record ends; 0 = no cap here
    max_per_number: int = 0  # ... on one number before the next number is used; 0 = no cap
    max_per_day: int = 0  # ... in the callee's local day before waiting for the next; 0 = none
    final: bool = False  # the record ends now
    next_number: bool = False  # the retry uses the record's next number
    unusable_number: bool = False  # the number is dead (invalid, fax): never dial it again
    disposition: str = ""  # final disposition when this rule ends the record (default: Max Attempts)


class Disposition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An agent's (or the system's) verdict on a record after a call."""

    name: str
    final: bool = True  # True: the record is done; False: it is retried per ``retry``
    retry: RetryRule = RetryRule()  # used when not final
    dnc: bool = False  # the number joins the campaign's do-not-call list
    unusable_number: bool = False  # the number is wrong: the next number is used
    agent: bool = True  # agents may choose it (system ones such as "Max Attempts" not)


# System outcome defaults (issue 5 section 2); ``CampaignPolicy.outcome_rules`` overrides.
DEFAULT_OUTCOME_RULES: dict[str, RetryRule] = {
    Outcome.BUSY: RetryRule(delay_s=900, max_attempts=5),
    Outcome.NO_ANSWER: RetryRule(delay_s=3 * 3600, max_attempts=5, next_number=True),
    Outcome.MACHINE: RetryRule(delay_s=4 * 3600, max_attempts=3, next_number=True),
    Outcome.SILENCE: RetryRule(delay_s=2 * 3600, max_attempts=3),
    Outcome.FAX: RetryRule(delay_s=0, unusable_number=True),
    Outcome.INVALID_NUMBER: RetryRule(delay_s=0, unusable_number=True),
    # 72 h in UK mode is enforced by the compliance gate per number, whatever this says.
    Outcome.ABANDONED: RetryRule(delay_s=3600, max_attempts=2),
    Outcome.REJECTED: RetryRule(delay_s=86400, max_attempts=2, next_number=True),
    Outcome.FAILED: RetryRule(delay_s=600, max_attempts=3),
    # Answered without a disposition: the record waits for the agent's (see wrapup_*).
    Outcome.ANSWERED: RetryRule(delay_s=3600, max_attempts=3),
}


def _default_dispositions() -> list[Disposition]:
    return [
        Disposition(name="Sale"),
        Disposition(name="Not Interested"),
        Disposition(name="Call Back", final=False, retry=RetryRule(delay_s=86400, max_attempts=5)),
        Disposition(name="No Contact", final=False, retry=RetryRule(delay_s=4 * 3600)),
        Disposition(name="Wrong Number", final=False, unusable_number=True,
                    retry=RetryRule(delay_s=0)),
        Disposition(name="Bad Record"),
        Disposition(name="Do Not Call", dnc=True),
        Disposition(name="No Disposition", final=False, agent=False,
                    retry=RetryRule(delay_s=3600, max_attempts=3)),
        Disposition(name="Max Attempts", agent=False),
        Disposition(name="Not Callable", agent=False),
    ]


def _default_ranges() -> dict[str, str]:
    return {"morning": "09:00-12:00", "afternoon": "12:00-17:00", "evening": "17:00-20:30"}


class CampaignPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the record store and the compliance gate need to know about a campaign."""

    # -- dispositions and retries
    dispositions: list[Disposition] = msgspec.field(default_factory=_default_dispositions)
    outcome_rules: dict[str, RetryRule] = {}  # per Outcome value, overriding the defaults
    bad_record_disposition: str = "Bad Record"  # for incorrect records (all numbers dead)
    max_attempts_disposition: str = "Max Attempts"  # when a cap ends the record
    dnc_disposition: str = "Do Not Call"  # when every number is on a DNC list
    not_callable_disposition: str = "Not Callable"  # no local time / no common window
    wrapup_timeout_s: float = 900.0  # answered call without a disposition for this long ...
    wrapup_disposition: str = "No Disposition"  # ... gets this one
    # -- attempt limits (compliance gate)
    max_attempts_per_record: int = 6
    max_attempts_per_number: int = 3
    max_attempts_per_day: int = 3  # per record, in the callee's local day
    max_attempts_per_number_per_day: int = 2
    # -- calling hours, callee's local time (16 CFR 310.4(c); 47 CFR 64.1200(c)(1))
    calling_hours: str = "08:00-21:00"  # "[days ]HH:MM-HH:MM[, ...]", e.g. "mon-sat 09:00-20:00"
    region_hours: dict[str, str] = {}  # by ISO country ("GB") or IANA zone ("America/Chicago")
    unknown_zone: str = ""  # zone assumed when no zone is known; "" = never dial such numbers
    # -- UK mode (Ofcom persistent-misuse policy)
    uk_mode: bool = False  # no redial of a number within abandon_lock_s of an abandoned call
    abandon_lock_s: float = 72 * 3600.0
    # -- do-not-call
    dnc_global: bool = True  # also check the global internal list, not only the campaign's
    dnc_retry_s: float = 300.0  # when a DNC list cannot be checked, try the record again after
    # -- callbacks
    callback_grace_s: float = 900.0  # a personal callback goes to any agent after this
    callback_ranges: dict[str, str] = msgspec.field(default_factory=_default_ranges)
    # -- agent actions
    skip_delay_s: float = 1800.0  # a skipped record comes back after this long
    decline_later_s: float = 86400.0  # "call later" without a time: after this long
    # -- records
    region: str = "US"  # default region for numbers without a + prefix
    fields: list[FieldDef] = []  # typed custom fields
    extra_fields_editable: bool = False  # unmapped CSV columns: may agents edit them?

    def __post_init__(self) -> None:
        _validate(self)

    def rule_for_outcome(self, outcome: str) -> RetryRule:
        rule = self.outcome_rules.get(outcome)
        if rule is not None:
            return rule
        return DEFAULT_OUTCOME_RULES.get(outcome, RetryRule())

    def disposition(self, name: str) -> Disposition | None:
        for d in self.dispositions:
            if d.name == name:
                return d
        return None

    def hours_for(self, zone: str, country: str) -> str:
        """The calling-hours schedule for a callee in ``zone`` with a number of ``country``."""
        return self.region_hours.get(zone) or self.region_hours.get(country) or self.calling_hours

    def field_defs(self) -> dict[str, FieldDef]:
        out = {f.name: f for f in BUILTIN_FIELDS}
        out.update({f.name: f for f in self.fields})
        return out


_RESERVED = frozenset({"id", "timezone", "priority", "phone"})


def _validate(p: CampaignPolicy) -> None:
    names = [d.name for d in p.dispositions]
    for i, d in enumerate(p.dispositions):
        if not d.name.strip():
            raise ValueError(f"dispositions[{i}].name: must not be empty")
        if names.count(d.name) > 1:
            raise ValueError(f"dispositions[{i}].name: duplicate disposition {d.name!r}")
        _check_rule(f"dispositions[{i}].retry", d.retry, names)
    for attr in ("bad_record_disposition", "max_attempts_disposition", "dnc_disposition",
                 "not_callable_disposition", "wrapup_disposition"):
        value = getattr(p, attr)
        if value not in names:
            raise ValueError(f"{attr}: {value!r} is not one of the campaign's dispositions")
    known = {o.value for o in Outcome}
    for key, rule in p.outcome_rules.items():
        if key not in known:
            raise ValueError(f"outcome_rules.{key}: unknown outcome; use one of {sorted(known)}")
        _check_rule(f"outcome_rules.{key}", rule, names)
    for attr in ("max_attempts_per_record", "max_attempts_per_number", "max_attempts_per_day",
                 "max_attempts_per_number_per_day"):
        if getattr(p, attr) < 1:
            raise ValueError(f"{attr}: must be at least 1")
    for attr in ("abandon_lock_s", "dnc_retry_s", "callback_grace_s", "skip_delay_s",
                 "decline_later_s", "wrapup_timeout_s"):
        if getattr(p, attr) < 0:
            raise ValueError(f"{attr}: must not be negative")
    if p.uk_mode and p.abandon_lock_s < 72 * 3600:
        raise ValueError("abandon_lock_s: UK mode needs at least 72 hours (259200 s)")
    try:
        parse_schedule(p.calling_hours)
    except ValueError as exc:
        raise ValueError(f"calling_hours: {exc}") from None
    for key, spec in p.region_hours.items():
        if not (len(key) == 2 and key.isalpha() and key.isupper()) and not is_valid_zone(key):
            raise ValueError(f"region_hours.{key}: use an ISO country code (GB) or an IANA zone")
        try:
            parse_schedule(spec)
        except ValueError as exc:
            raise ValueError(f"region_hours.{key}: {exc}") from None
    for key, spec in p.callback_ranges.items():
        if key == "tomorrow" or " " in key:
            raise ValueError(f"callback_ranges.{key}: reserved name")
        try:
            parse_schedule(spec)
        except ValueError as exc:
            raise ValueError(f"callback_ranges.{key}: {exc}") from None
    if p.unknown_zone and not is_valid_zone(p.unknown_zone):
        raise ValueError(f"unknown_zone: unknown time zone {p.unknown_zone!r}")
    if not (len(p.region) == 2 and p.region.isalpha()):
        raise ValueError(f"region: {p.region!r} is not an ISO country code such as US or GB")
    seen: set[str] = set()
    for i, f in enumerate(p.fields):
        if not f.name or f.name in seen or f.name in _RESERVED:
            raise ValueError(f"fields[{i}].name: empty, duplicate or reserved name {f.name!r}")
        seen.add(f.name)
        if f.kind is FieldKind.CHOICE and not f.choices:
            raise ValueError(f"fields[{i}].choices: a choice field needs choices")


def _check_rule(where: str, rule: RetryRule, names: list[str]) -> None:
    if rule.disposition and rule.disposition not in names:
        raise ValueError(f"{where}.disposition: {rule.disposition!r} is not a disposition")
    if rule.delay_s < 0:
        raise ValueError(f"{where}.delay_s: must not be negative")
    for attr in ("max_attempts", "max_per_number", "max_per_day"):
        if getattr(rule, attr) < 0:
            raise ValueError(f"{where}.{attr}: must not be negative")

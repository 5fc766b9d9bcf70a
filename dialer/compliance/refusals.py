"""Why a dial was refused: the rule, the text it comes from, and the detail.

Every refusal names a :class:`Rule` and cites the regulation or policy behind it,
so that an audit entry (``DialBlocked``) can always be traced back to the law.
"""

from __future__ import annotations

import enum

import msgspec


class Rule(enum.StrEnum):
    """Stable identifiers of the compliance rules; they appear in events and reports."""

    DNC_GLOBAL = "dnc.global"  # the number is on the global (internal/national) list
    DNC_CAMPAIGN = "dnc.campaign"  # the number is on this campaign's list
    DNC_UNAVAILABLE = "dnc.unavailable"  # the list could not be checked: never dial
    CALLING_HOURS = "calling_hours"  # outside the allowed hours in the callee's zone
    NO_COMMON_WINDOW = "calling_hours.no_window"  # the zones never share an allowed time
    UNKNOWN_ZONE = "calling_hours.unknown_zone"  # the callee's local time cannot be known
    ATTEMPTS_RECORD = "attempts.record"  # the record reached its attempt cap
    ATTEMPTS_NUMBER = "attempts.number"  # the number reached its attempt cap
    ATTEMPTS_DAY = "attempts.day"  # the record reached its daily cap (callee's day)
    ATTEMPTS_NUMBER_DAY = "attempts.number_day"  # the number reached its daily cap
    REDIAL_LOCK = "redial_lock.abandoned"  # UK: 72 h after an abandoned call to the number
    NUMBER_UNUSABLE = "number.unusable"  # invalid number or fax line, found on an earlier call
    NOT_DUE = "retry.not_due"  # the retry delay of the last outcome has not passed


# What each rule rests on. Internal ("company-specific") lists are the seller's own
# do-not-call list; the global list is where the national registry is loaded.
CITATIONS: dict[Rule, str] = {
    Rule.DNC_GLOBAL: "16 CFR 310.4(b)(1)(iii)(B); 47 CFR 64.1200(c)(2)",
    Rule.DNC_CAMPAIGN: "16 CFR 310.4(b)(1)(iii)(A); 47 CFR 64.1200(d)",
    Rule.DNC_UNAVAILABLE: (
        "16 CFR 310.4(b)(1)(iii)(B); 47 CFR 64.1200(c)(2): a number that cannot be "
        "checked against the do-not-call lists is not dialed"
    ),
    Rule.CALLING_HOURS: "16 CFR 310.4(c); 47 CFR 64.1200(c)(1)",
    Rule.NO_COMMON_WINDOW: "16 CFR 310.4(c); 47 CFR 64.1200(c)(1)",
    Rule.UNKNOWN_ZONE: (
        "16 CFR 310.4(c); 47 CFR 64.1200(c)(1): the called person's local time must be known"
    ),
    Rule.ATTEMPTS_RECORD: "campaign policy max_attempts_per_record",
    Rule.ATTEMPTS_NUMBER: "campaign policy max_attempts_per_number",
    Rule.ATTEMPTS_DAY: "campaign policy max_attempts_per_day",
    Rule.ATTEMPTS_NUMBER_DAY: "campaign policy max_attempts_per_number_per_day",
    Rule.REDIAL_LOCK: (
        "Ofcom, Revised statement of policy on the persistent misuse of an electronic "
        "communications network or service (2016): no repeat call within 72 hours of an "
        "abandoned call without a guaranteed live operator"
    ),
    Rule.NUMBER_UNUSABLE: "campaign policy: invalid numbers and fax lines are not redialed",
    Rule.NOT_DUE: "campaign policy retry rule",
}


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """A compliance rule said no.

    ``until`` is the earliest time (epoch s) the same rule could say yes again, or
    ``None`` when it never will for this number (DNC, caps, unusable number).
    """

    rule: Rule
    citation: str
    detail: str
    until: float | None = None

    @property
    def permanent(self) -> bool:
        return self.until is None


def refuse(rule: Rule, detail: str, until: float | None = None) -> Refusal:
    return Refusal(rule=rule, citation=CITATIONS[rule], detail=detail, until=until)

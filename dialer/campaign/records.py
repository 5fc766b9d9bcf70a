"""What a calling record holds: numbers, typed custom fields, priority and history.

``Record`` is what the agent screen shows and what the import writes. ``Progress``
is the small mutable part the dialer keeps beside it (attempt marks for the caps,
unusable numbers, the pending callback); ``HistoryEntry`` is one line of the full
attempt history that agents and regulators read.
"""

from __future__ import annotations

import datetime as dt
import enum
import math

import msgspec


class NumberType(enum.StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"
    OTHER = "other"


class Phone(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One of a record's numbers, E.164, in dialing order (``order`` ascending)."""

    number: str
    type: NumberType = NumberType.OTHER
    order: int = 0
    country: str = ""  # ISO country, from the import
    zones: list[str] = []  # IANA zones from the import; empty = looked up when dialed


class FieldKind(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATETIME = "datetime"  # stored as ISO 8601 text
    BOOLEAN = "boolean"
    CHOICE = "choice"


FieldValue = str | int | float | bool | None


class FieldDef(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A campaign's custom field: its type and whether agents may change it."""

    name: str
    kind: FieldKind = FieldKind.TEXT
    editable: bool = True  # False: shown to agents, never changed by them
    choices: list[str] = []  # the allowed values of a ``choice`` field
    required: bool = False  # an import row without it is rejected
    label: str = ""  # what the agent screen shows; the name when empty


# Built-in fields every record has, beside the campaign's own.
BUILTIN_FIELDS: tuple[FieldDef, ...] = (
    FieldDef(name="first_name", label="First name"),
    FieldDef(name="last_name", label="Last name"),
)

_TRUE = frozenset({"1", "true", "yes", "y", "t", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "f", "off", ""})


def parse_field(field: FieldDef, raw: object) -> FieldValue:
    """Turn text (CSV) or a JSON value (API) into the field's type; ValueError says why."""
    if raw is None:
        if field.required:
            raise ValueError("is required")
        return None
    if field.kind is FieldKind.TEXT:
        return raw if isinstance(raw, str) else str(raw)
    text = raw.strip() if isinstance(raw, str) else raw
    if text == "":
        if field.required:
            raise ValueError("is required")
        return None
    if field.kind is FieldKind.NUMBER:
        if isinstance(text, bool):
            raise ValueError(f"not a number: {raw!r}")
        if isinstance(text, int | float):
            value: int | float = text
        elif isinstance(text, str):
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"not a number: {raw!r}") from None
        else:
            raise ValueError(f"not a number: {raw!r}")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"not a finite number: {raw!r}")
            if value.is_integer() and abs(value) < 2**53:
                return int(value)
        return value
    if field.kind is FieldKind.BOOLEAN:
        if isinstance(text, bool):
            return text
        low = str(text).lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"not a boolean (use true/false, yes/no, 1/0): {raw!r}")
    if field.kind is FieldKind.DATETIME:
        if not isinstance(text, str):
            raise ValueError(f"not an ISO 8601 date/time: {raw!r}")
        try:
            return dt.datetime.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"not an ISO 8601 date/time: {raw!r}") from None
    # CHOICE
    if not isinstance(text, str) or text not in field.choices:
        raise ValueError(f"{raw!r} is not one of {', '.join(field.choices)}")
    return text


class Record(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A calling record as stored and as shown to agents."""

    id: str
    numbers: list[Phone]
    fields: dict[str, FieldValue] = {}
    timezone: str = ""  # IANA zone of the contact, if known; overrides the numbers' zones
    priority: int = 0  # 0-255, higher is dialed first

    def sorted_numbers(self) -> list[Phone]:
        return sorted(self.numbers, key=lambda p: p.order)


class Mark(msgspec.Struct, frozen=True, array_like=True):
    """One attempt, compactly, for the caps: when, which number, what happened."""

    at: float
    index: int  # position in Record.numbers; -1 when unknown
    outcome: str  # an Outcome value, or "lost" when a lease expired mid-attempt
    disposition: str = ""  # the agent's disposition of this attempt, when there was one


class Callback(msgspec.Struct, frozen=True, kw_only=True):
    """A resolved callback: when, which number, and for whom."""

    due: float
    number_index: int
    agent_id: str = ""  # the agent who asked for it
    personal: bool = False  # only ``agent_id`` may take it until the grace has passed
    timezone: str = ""
    requested: str = ""  # what the agent asked for, as text, for the history


class Progress(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The dialer's mutable bookkeeping for one record."""

    marks: list[Mark] = []
    unusable: list[int] = []  # numbers found invalid or fax lines
    counts: dict[str, int] = {}  # attempts per outcome / disposition name, for retry caps
    skips: int = 0
    rejects: int = 0
    last_index: int = -1  # number dialed last
    callback: Callback | None = None
    final: str = ""  # the final disposition once the record is done


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One line of a record's history: an attempt, or what an agent or the gate did."""

    at: float
    kind: str  # attempt | disposition | skip | reject | decline | callback | blocked | lost | ...
    number: str = ""
    number_index: int = -1
    outcome: str = ""
    sip_code: int = 0
    disposition: str = ""
    agent_id: str = ""
    notes: str = ""
    token: int = 0
    rule: str = ""
    detail: str = ""

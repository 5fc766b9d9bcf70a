"""CSV rows to records: the field mapping, per-row validation and normalisation.

Without a mapping the header names the fields: ``id, first_name, last_name, phone,
phone2, phone3, timezone, priority``; any other column becomes a text custom field
(or the campaign's typed field of that name). With a mapping (``column=field,...``)
only mapped columns are read, and every target must be a known field.

Number targets: ``phone``, ``phone2`` ... ``phone9``, ``mobile``, ``home``, ``work``;
``phone2:mobile`` gives a type. Numbers are normalised to E.164 with ``region``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dialer.campaign.policy import CampaignPolicy
from dialer.campaign.records import (
    FieldDef,
    FieldKind,
    FieldValue,
    NumberType,
    Phone,
    Record,
    parse_field,
)
from dialer.compliance.hours import is_valid_zone
from dialer.compliance.numbers import MAX_STORED_ZONES, describe
from dialer.errors import InputError

DEFAULT_COLUMNS = ("id", "first_name", "last_name", "phone", "phone2", "phone3", "timezone",
                   "priority")
_PHONE = re.compile(r"^(phone([1-9]?)|mobile|home|work)(?::(mobile|home|work|other))?$")
_SPECIAL = ("id", "timezone", "priority")
IGNORE = ("", "-", "ignore")


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """``"Tel=phone,Cell=phone2:mobile"`` -> {column: field}; InputError names a bad item."""
    if text is None or not text.strip():
        return None
    out: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        col, sep, target = item.partition("=")
        if not sep or not col.strip():
            raise InputError("mapping", f"{item.strip()!r} is not COLUMN=FIELD")
        out[col.strip()] = target.strip()
    return out


class _Target:
    __slots__ = ("kind", "name", "order", "ntype", "field")

    def __init__(self, kind: str, name: str, order: int = 0,
                 ntype: NumberType = NumberType.OTHER, field: FieldDef | None = None) -> None:
        self.kind = kind  # "special" | "phone" | "field"
        self.name = name
        self.order = order
        self.ntype = ntype
        self.field = field


def _phone_target(target: str) -> _Target | None:
    m = _PHONE.match(target)
    if not m:
        return None
    base, digit, typ = m.group(1), m.group(2), m.group(3)
    if base in ("mobile", "home", "work"):
        return _Target("phone", base, order=10 + ("mobile", "home", "work").index(base),
                       ntype=NumberType(typ or base))
    order = int(digit) if digit else 1
    return _Target("phone", base, order=order, ntype=NumberType(typ) if typ else NumberType.OTHER)


class RowParser:
    """Validates a header and mapping once, then turns rows into records."""

    def __init__(
        self,
        header: Sequence[str],
        mapping: dict[str, str] | None,
        policy: CampaignPolicy,
        region: str,
        id_prefix: str,
    ) -> None:
        self.region = region
        self.id_prefix = id_prefix
        self.width = len(header)
        defs = policy.field_defs()
        cols = [h.strip() for h in header]
        if len(set(cols)) != len(cols):
            dup = next(c for c in cols if cols.count(c) > 1)
            raise InputError("header", f"column {dup!r} appears twice")
        self.targets: list[tuple[int, _Target]] = []
        if mapping is None:
            for i, col in enumerate(cols):
                key = col.lower()
                t = self._resolve(key, defs) if key else None
                if t is None:
                    t = _Target("field", col, field=defs.get(col) or FieldDef(
                        name=col, kind=FieldKind.TEXT, editable=policy.extra_fields_editable))
                self.targets.append((i, t))
        else:
            for col, target in mapping.items():
                if col not in cols:
                    raise InputError(f"mapping.{col}",
                                     f"column {col!r} is not in the CSV header ({', '.join(cols)})")
                if target in IGNORE:
                    continue
                t = self._resolve(target, defs)
                if t is None:
                    known = ", ".join([*_SPECIAL, "phone", "phone2..phone9", "mobile", "home",
                                       "work", *defs])
                    raise InputError(f"mapping.{col}",
                                     f"unknown field {target!r}; known fields: {known}")
                self.targets.append((cols.index(col), t))
        names = [t.name for _, t in self.targets if t.kind != "phone"]
        for n in names:
            if names.count(n) > 1:
                raise InputError("mapping", f"field {n!r} is mapped from two columns")
        if not any(t.kind == "phone" for _, t in self.targets):
            raise InputError("mapping", "no phone column (map one to 'phone')")
        self.has_id = any(t.name == "id" for _, t in self.targets)
        self.required = [f for f in defs.values() if f.required]

    @staticmethod
    def _resolve(target: str, defs: dict[str, FieldDef]) -> _Target | None:
        if target in _SPECIAL:
            return _Target("special", target)
        phone = _phone_target(target)
        if phone is not None:
            return phone
        if target in defs:
            return _Target("field", target, field=defs[target])
        return None

    def parse(self, row: Sequence[str], line_no: int) -> tuple[Record, list[str]]:
        """The record of one row plus warnings; ValueError says what is wrong with the row."""
        if len(row) != self.width:
            raise ValueError(f"expected {self.width} columns, found {len(row)}")
        rid = ""
        tz = ""
        priority = 0
        phones: list[tuple[int, int, Phone]] = []
        fields: dict[str, FieldValue] = {}
        warnings: list[str] = []
        bad_numbers: list[str] = []
        for pos, (i, t) in enumerate(self.targets):
            cell = row[i].strip()
            if t.kind == "special":
                if t.name == "id":
                    rid = cell
                elif t.name == "timezone":
                    if cell and not is_valid_zone(cell):
                        raise ValueError(f"timezone: unknown time zone {cell!r}")
                    tz = cell
                elif cell:
                    try:
                        priority = int(cell)
                    except ValueError:
                        raise ValueError(f"priority: not an integer: {cell!r}") from None
                    if not 0 <= priority <= 255:
                        raise ValueError(f"priority: {priority} is outside 0-255")
            elif t.kind == "phone":
                if not cell:
                    continue
                try:
                    number, country, zones = describe(cell, self.region)
                except ValueError as exc:
                    bad_numbers.append(f"{t.name}: {exc}")
                    continue
                phones.append((t.order, pos, Phone(
                    number=number, type=t.ntype, country=country,
                    zones=list(zones) if len(zones) <= MAX_STORED_ZONES else [])))
            else:
                assert t.field is not None
                try:
                    value = _parse_value(t.field, cell)
                except ValueError as exc:
                    raise ValueError(f"{t.name}: {exc}") from None
                if value is not None:
                    fields[t.name] = value
        for f in self.required:
            if fields.get(f.name) is None:
                raise ValueError(f"{f.name}: is required")
        if not phones:
            if bad_numbers:
                raise ValueError("; ".join(bad_numbers))
            raise ValueError("no phone number")
        warnings += [f"{b} (number dropped)" for b in bad_numbers]
        if self.has_id and not rid:
            raise ValueError("id: empty")
        if not self.has_id:
            rid = f"{self.id_prefix}{line_no}"
        if len(rid) > 200 or any(c in rid for c in "\r\n"):
            raise ValueError("id: longer than 200 characters or contains a line break")
        phones.sort(key=lambda x: (x[0], x[1]))
        seen: set[str] = set()
        numbers: list[Phone] = []
        for _, _, p in phones:
            if p.number not in seen:
                seen.add(p.number)
                numbers.append(Phone(number=p.number, type=p.type, order=len(numbers),
                                     country=p.country, zones=p.zones))
        return Record(id=rid, numbers=numbers, fields=fields, timezone=tz,
                      priority=priority), warnings


def _parse_value(field: FieldDef, cell: str) -> FieldValue:
    if not cell:
        return None  # required fields are checked once the whole row is read
    return parse_field(field, cell)

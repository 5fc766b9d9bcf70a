"""CSV rows to records: mapping, typed fields, numbers, per-row errors (no Redis)."""

from __future__ import annotations

import pytest

from dialer.campaign.policy import CampaignPolicy
from dialer.campaign.records import FieldDef, FieldKind, NumberType, parse_field
from dialer.errors import InputError
from dialer.store.csvimport import RowParser, parse_mapping

DEFAULT = ["id", "first_name", "last_name", "phone", "phone2", "phone3", "timezone", "priority"]
POLICY = CampaignPolicy(fields=[
    FieldDef(name="balance", kind=FieldKind.NUMBER, editable=False),
    FieldDef(name="due", kind=FieldKind.DATETIME),
    FieldDef(name="vip", kind=FieldKind.BOOLEAN),
    FieldDef(name="plan", kind=FieldKind.CHOICE, choices=["gold", "silver"]),
])


def parser(header: list[str], mapping: dict[str, str] | None = None) -> RowParser:
    return RowParser(header, mapping, POLICY, "US", "f-")


def test_default_columns_and_extra_text_field() -> None:
    p = parser([*DEFAULT, "notes"])
    r, warnings = p.parse(["a1", "Ann", "Lee", "(212) 555-1234", "", "415.555.0100",
                           "America/New_York", "7", "likes cats"], 2)
    assert r.id == "a1" and r.priority == 7 and r.timezone == "America/New_York"
    assert [n.number for n in r.numbers] == ["+12125551234", "+14155550100"]
    assert [n.order for n in r.numbers] == [0, 1]
    assert r.fields == {"first_name": "Ann", "last_name": "Lee", "notes": "likes cats"}
    assert warnings == []


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (["a", "A", "L", "12", "", "", "", ""], "phone: invalid number"),
        (["a", "A", "L", "2125551234", "", "", "Mars/Base", ""], "timezone: unknown"),
        (["a", "A", "L", "2125551234", "", "", "", "high"], "priority: not an integer"),
        (["a", "A", "L", "2125551234", "", "", "", "999"], "priority: 999 is outside"),
        (["", "A", "L", "2125551234", "", "", "", ""], "id: empty"),
        (["a", "A", "L", "", "", "", "", ""], "no phone number"),
        (["a", "A"], "expected 8 columns, found 2"),
    ],
)
def test_row_errors(row: list[str], words: str) -> None:
    with pytest.raises(ValueError) as err:
        parser(DEFAULT).parse(row, 5)
    assert words in str(err.value)


def test_bad_secondary_number_is_a_warning() -> None:
    r, warnings = parser(DEFAULT).parse(["a", "", "", "2125551234", "555", "", "", ""], 3)
    assert len(r.numbers) == 1 and warnings and "phone2" in warnings[0]


def test_mapping_with_typed_numbers_and_fields() -> None:
    header = ["Ref", "Tel", "Cell", "Bal", "Due", "VIP", "Plan", "Junk"]
    m = parse_mapping("Ref=id,Tel=phone:home,Cell=mobile,Bal=balance,Due=due,VIP=vip,"
                      "Plan=plan,Junk=ignore")
    assert m is not None
    p = parser(header, m)
    r, _ = p.parse(["x9", "2125551234", "4155550100", "12.50", "2024-06-01T10:00", "yes",
                    "gold", "zzz"], 2)
    assert r.id == "x9"
    assert [(n.number, n.type) for n in r.numbers] == [("+12125551234", NumberType.HOME),
                                                       ("+14155550100", NumberType.MOBILE)]
    assert r.fields == {"balance": 12.5, "due": "2024-06-01T10:00:00", "vip": True,
                        "plan": "gold"}
    with pytest.raises(ValueError, match="plan"):
        p.parse(["x9", "2125551234", "", "1", "", "", "bronze", ""], 3)
    with pytest.raises(ValueError, match="balance: not a number"):
        p.parse(["x9", "2125551234", "", "lots", "", "", "", ""], 4)


@pytest.mark.parametrize(
    ("mapping", "where"),
    [
        ({"Nope": "phone"}, "mapping.Nope"),
        ({"Tel": "favourite_colour"}, "mapping.Tel"),
        ({"Tel": "phone", "Ref": "balance", "Bal": "balance"}, "mapping"),
        ({"Ref": "id"}, "mapping"),
    ],
)
def test_mapping_errors(mapping: dict[str, str], where: str) -> None:
    with pytest.raises(InputError) as err:
        parser(["Ref", "Tel", "Bal"], mapping)
    assert err.value.where == where


def test_parse_mapping_syntax() -> None:
    assert parse_mapping(None) is None
    assert parse_mapping(" a = phone , b=id ") == {"a": "phone", "b": "id"}
    with pytest.raises(InputError):
        parse_mapping("a:phone")


def test_no_id_column_generates_ids() -> None:
    r, _ = parser(["phone"]).parse(["2125551234"], 17)
    assert r.id == "f-17"


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [(FieldKind.NUMBER, "3", 3), (FieldKind.NUMBER, "2.5", 2.5), (FieldKind.BOOLEAN, "No", False),
     (FieldKind.BOOLEAN, True, True), (FieldKind.TEXT, "x", "x"), (FieldKind.NUMBER, 4, 4)],
)
def test_parse_field(kind: FieldKind, raw: object, value: object) -> None:
    assert parse_field(FieldDef(name="f", kind=kind), raw) == value


@pytest.mark.parametrize(("kind", "raw"), [(FieldKind.NUMBER, "nan"), (FieldKind.NUMBER, True),
                                           (FieldKind.BOOLEAN, "maybe"),
                                           (FieldKind.DATETIME, "yesterday")])
def test_parse_field_errors(kind: FieldKind, raw: object) -> None:
    with pytest.raises(ValueError):
        parse_field(FieldDef(name="f", kind=kind), raw)

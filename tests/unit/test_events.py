"""Events round-trip through the JSON that goes on Redis, and docs/events.md lists them all."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from dialer import events as ev
from dialer.bus.publisher import decode_event
from dialer.outcomes import Outcome

ROOT = Path(__file__).resolve().parents[2]


def all_event_types() -> list[type[ev.Event]]:
    return [
        obj for obj in vars(ev).values()
        if isinstance(obj, type) and issubclass(obj, ev.Event) and obj is not ev.Event
    ]


def test_round_trip_keeps_type_and_fields() -> None:
    e = ev.CallEnded(
        at=1.5, call_id="c1", campaign="x", record_id="r1", number="+12125550100",
        outcome=Outcome.BUSY, sip_code=486, reason="Busy Here", ring_s=2.0, talk_s=0.0,
    )
    raw = msgspec.json.encode(e)
    plain = decode_event(raw)
    assert plain["type"] == "CallEnded" and plain["outcome"] == "busy" and plain["sip_code"] == 486
    back = msgspec.json.decode(raw, type=ev.CallEnded)
    assert back == e


def test_events_are_frozen() -> None:
    e = ev.CampaignStarted(at=0.0, campaign="x", mode="progressive")
    with pytest.raises(AttributeError):
        e.campaign = "y"  # type: ignore[misc]


@pytest.mark.parametrize("cls", all_event_types(), ids=lambda c: c.__name__)
def test_every_event_is_documented(cls: type[ev.Event]) -> None:
    doc = (ROOT / "docs" / "events.md").read_text()
    assert f"`{cls.__name__}`" in doc
    for name in cls.__struct_fields__:
        assert f"`{name}`" in doc, f"{cls.__name__}.{name} missing from docs/events.md"

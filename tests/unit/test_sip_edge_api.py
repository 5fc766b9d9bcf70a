"""SipEdge's asyncio-side API without PJSIP: argument handling, clamps, event delivery."""

from __future__ import annotations

import msgspec
import pytest

from dialer.config import SipSettings
from dialer.errors import SipFailure
from dialer.outcomes import Outcome
from dialer.sip import engine
from dialer.sip.edge import SipEdge
from dialer.sip.events import CallFinished, CallProgress, FrameResult, SipEvent


class FakeWorker:
    def __init__(self) -> None:
        self.commands: list[tuple] = []

    def enqueue(self, *command: object) -> None:
        self.commands.append(command)

    def snapshot(self) -> dict:
        return {"running": True}


def running_edge(events: list[SipEvent] | None = None) -> tuple[SipEdge, FakeWorker]:
    edge = SipEdge(SipSettings(), (events if events is not None else []).append)
    worker = FakeWorker()
    edge._worker = worker  # type: ignore[assignment]
    edge._state = "running"
    return edge, worker


@pytest.mark.parametrize(("asked", "used"), [(1.0, 15.0), (14.0, 15.0), (17.0, 17.0), (40.0, 40.0)])
def test_place_call_clamps_the_ring_timeout(asked: float, used: float) -> None:
    # 47 CFR 64.1200(a)(6): the public API never lets a call ring less than 15 s.
    edge, worker = running_edge()
    edge.place_call("c1", "5551230", ring_timeout_s=asked)
    name, call_id, number, caller_id, timeout, consumer = worker.commands[-1]
    assert (name, call_id, number, timeout, consumer) == ("place", "c1", "5551230", used, None)


def test_the_test_hook_is_the_only_way_under_15_s() -> None:
    edge, worker = running_edge()
    edge._unsafe_set_min_ring_timeout(1.0)
    edge.place_call("c1", "5551230", ring_timeout_s=2.0)
    assert worker.commands[-1][4] == 2.0


def test_duplicate_call_id_is_refused_until_finished() -> None:
    events: list[SipEvent] = []
    edge, _ = running_edge(events)
    edge.place_call("c1", "5551230")
    with pytest.raises(SipFailure):
        edge.place_call("c1", "5551230")
    edge._deliver(CallFinished(call_id="c1", outcome=Outcome.BUSY, sip_code=486, reason="Busy Here", mono=1.0))
    edge.place_call("c1", "5551230")  # the id is free again
    assert [type(e).__name__ for e in events] == ["CallFinished"]


def test_commands_before_start_and_after_stop_raise() -> None:
    edge = SipEdge(SipSettings(), lambda e: None)
    for action in (
        lambda: edge.place_call("c", "1"),
        lambda: edge.hangup("c"),
        lambda: edge.connect_agent("a", "sip:a@127.0.0.1"),
        lambda: edge.bridge("c", "a"),
        lambda: edge.play("c", "x.wav"),
    ):
        with pytest.raises(SipFailure):
            action()
    assert edge.stats() == {"running": False}


def test_commands_are_queued_with_plain_values() -> None:
    edge, worker = running_edge()
    edge.hangup("c1", code=480)
    edge.connect_agent("a1", "sip:agent1@127.0.0.1:5070")
    edge.disconnect_agent("a1")
    edge.bridge("c1", "a1")
    edge.unbridge("c1")
    edge.play("c1", "p.wav", hangup_after=True)
    assert worker.commands == [
        ("hangup", "c1", 480),
        ("connect_agent", "a1", "sip:agent1@127.0.0.1:5070"),
        ("disconnect_agent", "a1"),
        ("bridge", "c1", "a1"),
        ("unbridge", "c1"),
        ("play", "c1", "p.wav", True),
    ]


def test_a_failing_handler_does_not_break_delivery() -> None:
    def handler(event: SipEvent) -> None:
        raise RuntimeError("daemon bug")

    edge = SipEdge(SipSettings(), handler)
    edge._open_calls.add("c1")
    edge._deliver(CallFinished(call_id="c1", outcome=Outcome.ANSWERED, sip_code=200, reason="", mono=1.0))
    assert "c1" not in edge._open_calls


def test_events_are_frozen_tagged_records() -> None:
    ev = CallProgress(call_id="c1", sip_code=180, mono=12.5)
    with pytest.raises(AttributeError):
        ev.sip_code = 183  # type: ignore[misc]
    data = msgspec.json.encode(ev)
    assert msgspec.json.decode(data) == {"type": "CallProgress", "call_id": "c1", "sip_code": 180, "mono": 12.5}
    fr = FrameResult(call_id="c1", value={"label": "human"}, mono=1.0)
    assert msgspec.json.decode(msgspec.json.encode(fr))["value"] == {"label": "human"}


def test_engine_info_is_none_without_pjsua2(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> object:
        raise SipFailure(0, "no pjsua2")

    monkeypatch.setattr(engine, "import_pjsua2", broken)
    assert engine.engine_info() is None

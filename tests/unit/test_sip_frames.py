"""FrameTap: how a call's pulled audio is cut into 20 ms frames for a consumer."""

from __future__ import annotations

import pytest

from dialer.sip.frames import FRAME_BYTES, FrameConsumer, FrameTap


class Keep:
    def __init__(self, done_after: int = 10**9, result_at: int = -1) -> None:
        self.seen: list[tuple[bytes, int]] = []
        self.done = False
        self.done_after = done_after
        self.result_at = result_at

    def feed(self, pcm: bytes, now_ms: int) -> object | None:
        self.seen.append((pcm, now_ms))
        if len(self.seen) >= self.done_after:
            self.done = True
        return ("verdict", now_ms) if len(self.seen) == self.result_at else None


def chunk(n: int, start: int = 0) -> bytes:
    return b"".join(bytes([(start + i) % 256]) * FRAME_BYTES for i in range(n))


def test_frames_are_320_bytes_and_now_ms_steps_by_20() -> None:
    consumer = Keep()
    tap = FrameTap("c1", consumer)
    results: list[tuple[str, object]] = []
    assert tap.deliver(chunk(3), lambda cid, v: results.append((cid, v))) == 3
    assert tap.deliver(chunk(2, 3), lambda cid, v: results.append((cid, v))) == 2
    assert [len(p) for p, _ in consumer.seen] == [320] * 5
    assert [ms for _, ms in consumer.seen] == [0, 20, 40, 60, 80]
    assert [p[0] for p, _ in consumer.seen] == [0, 1, 2, 3, 4]  # order kept
    assert results == [] and tap.frames == 5 and tap.now_ms == 100


def test_results_are_reported_and_feeding_stops_when_done() -> None:
    consumer = Keep(done_after=4, result_at=2)
    tap = FrameTap("c9", consumer)
    results: list[tuple[str, object]] = []
    assert tap.deliver(chunk(10), lambda cid, v: results.append((cid, v))) == 4
    assert results == [("c9", ("verdict", 20))]
    assert tap.done
    assert tap.deliver(chunk(10), lambda cid, v: None) == 0


def test_partial_frame_is_ignored() -> None:
    consumer = Keep()
    tap = FrameTap("c1", consumer)
    assert tap.deliver(chunk(1) + b"\x00" * 100, lambda cid, v: None) == 1


def test_a_raising_consumer_is_closed() -> None:
    class Broken:
        done = False

        def feed(self, pcm: bytes, now_ms: int) -> object | None:
            raise ValueError("bug in detector")

    tap = FrameTap("c1", Broken())
    with pytest.raises(ValueError):
        tap.deliver(chunk(3), lambda cid, v: None)
    assert tap.done and tap.errors == 1
    assert tap.deliver(chunk(3), lambda cid, v: None) == 0


def test_consumer_protocol() -> None:
    assert isinstance(Keep(), FrameConsumer)

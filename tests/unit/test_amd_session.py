"""AmdSession: one consumer per call, verdict then drop point, ``done`` when nothing is left."""

from __future__ import annotations

import pytest

from media.amd import AmdSession, AsteriskAmd, DropPoint, Verdict, make_session
from media.amd.testing import frames, join, pcm, run, silence, speech, tone


def test_machine_then_drop_after_the_beep() -> None:
    lead, talk, gap, beep = 0.3, 6.0, 0.3, 0.5
    end = lead + talk + gap + beep
    s = make_session("dialer")
    out = run(s, pcm(join(silence(lead), speech(talk), silence(gap), tone(1000, beep),
                          silence(2))))
    assert [type(o) for o in out] == [Verdict, DropPoint]
    v, d = out
    assert isinstance(v, Verdict) and isinstance(d, DropPoint)
    assert v.label == "machine" and v.detail.startswith("turn longer")
    assert d.kind == "beep" and abs(d.freq_hz - 1000) < 10
    assert 0 <= d.at_ms / 1000 - end <= 0.1
    assert s.done and s.verdict == v and s.drop == d
    assert s.feed(b"\0" * 320, 99_000) is None


def test_beep_settles_the_verdict_and_the_drop_follows() -> None:
    lead, talk, gap, beep = 0.2, 1.0, 0.25, 0.3
    s = make_session()
    out = run(s, pcm(join(silence(lead), speech(talk), silence(gap), tone(600, beep),
                          silence(2))))
    v, d = out
    assert isinstance(v, Verdict) and v.label == "machine" and "beep" in v.detail
    assert isinstance(d, DropPoint) and d.kind == "beep"
    assert d.at_ms >= v.at_ms
    assert 0 <= d.at_ms / 1000 - (lead + talk + gap + beep) <= 0.1


def test_human_ends_the_session() -> None:
    s = make_session()
    out = run(s, pcm(join(silence(0.4), speech(0.6), silence(3))), stop_when_done=False)
    assert len(out) == 1 and isinstance(out[0], Verdict) and out[0].label == "human"
    assert s.done and s.drop is None


def test_no_beep_drop_at_greeting_end() -> None:
    lead, talk = 0.2, 7.0
    s = make_session()
    out = run(s, pcm(join(silence(lead), speech(talk), silence(3))))
    v, d = out
    assert isinstance(d, DropPoint) and d.kind == "greeting_end"
    assert 1.29 <= d.at_ms / 1000 - (lead + talk) <= 1.45


def test_a_chime_inside_the_greeting_is_not_the_beep() -> None:
    greeting = join(tone(880, 0.4), silence(0.2), speech(6.0))
    end = 0.3 + 0.6 + 6.0 + 0.3 + 0.4
    s = make_session()
    out = run(s, pcm(join(silence(0.3), greeting, silence(0.3), tone(1200, 0.4), silence(2))))
    d = out[-1]
    assert isinstance(d, DropPoint) and d.kind == "beep" and abs(d.freq_hz - 1200) < 12
    assert 0 <= d.at_ms / 1000 - end <= 0.1


def test_asterisk_session_drops_at_its_decision() -> None:
    s = make_session("asterisk")
    assert isinstance(s.detector, AsteriskAmd)
    out = run(s, pcm(join(silence(0.3), speech(3.0), silence(1), tone(1000, 0.5), silence(1))))
    v, d = out
    assert isinstance(v, Verdict) and v.label == "machine"
    assert isinstance(d, DropPoint) and d.kind == "decision" and d.at_ms == v.at_ms
    assert s.done


def test_fax_and_silence_end_the_session() -> None:
    for data, label in ((pcm(join(silence(0.3), tone(2100, 3.0))), "fax"),
                        (pcm(silence(5.0)), "silence")):
        s = AmdSession()
        out = run(s, data)
        assert [o.label for o in out if isinstance(o, Verdict)] == [label]
        assert s.done


def test_session_consumes_frames_in_order_only_once() -> None:
    s = make_session()
    data = pcm(join(silence(0.3), speech(0.5), silence(2)))
    seen = 0
    for frame, now in frames(data):
        seen += 1
        s.feed(frame, now)
        if s.done:
            break
    assert s.done and seen < len(data) // 320


@pytest.mark.parametrize("name", ["dialer", "asterisk"])
def test_session_name(name: str) -> None:
    assert make_session(name).name == name

"""Audio crosses the agent bridge both ways (docs/sip.md, "nailed-up agent legs").

Two ``dialer agent-phone`` processes on 127.0.0.1: the agent's softphone sends a
1000 Hz tone, the "customer" (reached through the trunk address) sends 600 Hz.
The edge calls the agent once (nailed-up leg), calls the customer, bridges
them, and each phone reports the dominant frequency of what it heard.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dialer.config import SipSettings
from dialer.sip.events import (
    AgentLegDown,
    AgentLegUp,
    Bridged,
    CallConnected,
    CallFinished,
    SipEvent,
)

try:
    import pjsua2  # noqa: F401
except Exception as exc:  # noqa: BLE001
    pytest.skip(f"pjsua2 is not importable ({exc}); run scripts/setup", allow_module_level=True)

from dialer.sip.edge import SipEdge  # noqa: E402

pytestmark = pytest.mark.pjsip

HEARD = re.compile(r"^HEARD user=(\S+) call=\d+ hz=([\d.]+) rms=([\d.]+)$")


def _free_port(lo: int, hi: int) -> int:
    import random
    import socket

    ports = list(range(lo, hi, 2))
    random.shuffle(ports)
    for port in ports:
        try:
            for p in (port, port + 1):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


class Phone:
    """An agent-phone subprocess whose stdout lines are collected by a thread."""

    def __init__(self, port: int, tone_hz: float) -> None:
        self.port = port
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dialer.cli", "agent-phone", "--agents", "2", "--host", "127.0.0.1",
             "--port", str(port), "--rtp-port", str(_free_port(25000, 25900)),
             "--tone-hz", str(tone_hz), "--measure", "--report-s", "0.5", "--log-level", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            self.lines.append(line)
            if line == "READY":
                self.ready.set()

    def heard(self, user: str) -> list[tuple[float, float]]:
        out = []
        for line in list(self.lines):
            m = HEARD.match(line)
            if m and m.group(1) == user:
                out.append((float(m.group(2)), float(m.group(3))))
        return out

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        return self.proc.returncode


@pytest.fixture
def phones() -> Iterator[tuple[Phone, Phone]]:
    agent = Phone(_free_port(15000, 15998), 1000)
    customer = Phone(_free_port(15000, 15998), 600)
    try:
        for phone in (agent, customer):
            assert phone.ready.wait(20), f"agent-phone on {phone.port} did not print READY: {phone.lines}"
        yield agent, customer
    finally:
        codes = (agent.stop(), customer.stop())
        assert codes == (0, 0), f"agent-phone exit codes {codes} (SIGTERM must exit 0)"


async def test_bridge_carries_audio_both_ways(phones: tuple[Phone, Phone]) -> None:
    agent, customer = phones
    events: list[SipEvent] = []
    edge = SipEdge(
        SipSettings(bind_port=_free_port(15000, 15998), trunk_port=customer.port, max_calls=8,
                    rtp_port_start=_free_port(25000, 25900), log_level=1),
        events.append,
    )
    await edge.start()
    try:
        async def wait(kind: type, timeout: float = 10.0) -> Any:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for e in events:
                    if isinstance(e, kind):
                        return e
                await asyncio.sleep(0.02)
            raise AssertionError(f"no {kind.__name__}: {events}")

        edge.connect_agent("a1", f"sip:agent1@127.0.0.1:{agent.port}")
        await wait(AgentLegUp)
        edge.place_call("c1", "customer1")
        await wait(CallConnected)
        await asyncio.sleep(0.6)  # before the bridge each side hears only silence
        edge.bridge("c1", "a1")
        bridged = await wait(Bridged)
        await asyncio.sleep(2.2)  # several 0.5 s measurements of bridged audio
        stats = edge.stats()
        edge.hangup("c1")
        end = await wait(CallFinished)
        edge.disconnect_agent("a1")
        await wait(AgentLegDown)
    finally:
        await edge.stop()

    assert bridged.call_id == "c1" and end.outcome == "answered"
    assert stats["calls_bridged"] == 1 and stats["agent_legs_up"] == 1
    agent_heard = [hz for hz, rms in agent.heard("agent1") if rms > 500]
    customer_heard = [hz for hz, rms in customer.heard("customer1") if rms > 500]
    assert agent_heard, f"the agent heard nothing: {agent.lines}"
    assert customer_heard, f"the customer heard nothing: {customer.lines}"
    # Audio both ways: the agent hears the customer's 600 Hz, the customer the agent's 1000 Hz.
    assert abs(max(agent_heard, key=agent_heard.count) - 600.0) <= 20, agent_heard
    assert abs(max(customer_heard, key=customer_heard.count) - 1000.0) <= 20, customer_heard
    assert all(abs(hz - 600.0) <= 20 for hz in agent_heard[1:-1]), agent_heard
    # Before the bridge the phones heard silence (keep-alive), not each other.
    first_agent = agent.heard("agent1")[0]
    assert first_agent[1] < 50, agent.lines

"""The daemon end to end: real Redis, real PJSIP, sipp customers, PJSIP agent phones.

These run the same machinery as ``scripts/demo`` (dialer.demo.Demo) with a
small list, a private key prefix and a temporary work dir.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from dialer.bus.publisher import decode_event
from dialer.demo import Demo, parse_args

pytestmark = [pytest.mark.pjsip, pytest.mark.slow]

try:
    import pjsua2  # noqa: F401
except ImportError:  # pragma: no cover - the engine is built by scripts/setup
    pytest.skip("pjsua2 engine not built (run scripts/setup)", allow_module_level=True)


async def read_events(client: aioredis.Redis, prefix: str) -> list[dict[str, Any]]:
    entries = await client.xrange(f"{prefix}:events")
    return [decode_event(fields[b"event"]) for _id, fields in entries]


def demo_for(tmp_path: Path, redis_url: str, prefix: str, *argv: str) -> Demo:
    return Demo(parse_args(list(argv)), work=tmp_path, redis_url=redis_url, prefix=prefix)


async def test_progressive_campaign_dials_every_record_once(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    demo = demo_for(tmp_path, redis_url, redis_prefix, "--records", "10", "--agents", "2", "--talk-s", "1")
    try:
        summary = await demo.run()
    finally:
        demo.stop_all()
    events = await read_events(redis_client, redis_prefix)
    kinds = Counter(e["type"] for e in events)

    assert summary["daemon_exit"] == 0
    # Record i is +1 212 555 000i: its last digit picks the sipp customer's behaviour.
    assert summary["outcomes"] == {"answered": 6, "busy": 2, "no_answer": 1, "rejected": 1}
    assert summary["record_states"]["done"] == 10 and summary["record_states"]["in_progress"] == 0

    placed = {e["call_id"] for e in events if e["type"] == "CallPlaced"}
    ended = [e for e in events if e["type"] == "CallEnded"]
    assert len(placed) == 10 and sorted(e["call_id"] for e in ended) == sorted(placed)
    codes = {e["outcome"]: set() for e in ended}
    for e in ended:
        codes[e["outcome"]].add(e["sip_code"])
    assert codes == {"answered": {200}, "busy": {486}, "no_answer": {480}, "rejected": {603}}

    bridged = [e for e in events if e["type"] == "CallBridged"]
    assert len(bridged) == 6
    # Progressive reserves the agent at dial time: the bridge follows the answer at once.
    assert all(e["wait_ms"] < 2000 for e in bridged)
    assert all(e["talk_s"] > 0.5 for e in ended if e["outcome"] == "answered")
    started = next(e for e in events if e["type"] == "DaemonStarted")
    # The demo configures 64 lines; the engine (1024) is the upper bound.
    assert started["capacity"] == 64 and started["engine"].startswith("pjproject 2.12")
    assert kinds["CampaignStarted"] == 1 and kinds["DaemonStopped"] == 1
    imported = next(e for e in events if e["type"] == "ListImported")
    assert (imported["imported"], imported["rejected"]) == (10, 0)
    stopped = [e for e in events if e["type"] == "CampaignStopped"]
    assert stopped[0]["reason"] == "finished"
    # Never more lines than Ready agents: at most 2 calls up at once.
    live, peak = 0, 0
    for e in events:
        if e["type"] == "CallPlaced":
            live += 1
            peak = max(peak, live)
        elif e["type"] == "CallEnded":
            live -= 1
    assert peak <= 2


async def test_sigterm_drains_calls_and_releases_leases(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    demo = demo_for(tmp_path, redis_url, redis_prefix,
                    "--records", "6", "--agents", "2", "--talk-s", "60", "--drain-s", "2")
    task = asyncio.create_task(demo.run())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            events = await read_events(redis_client, redis_prefix)
            if sum(e["type"] == "CallBridged" for e in events) >= 2:
                break
            await asyncio.sleep(0.2)
        else:
            pytest.fail("no two calls were bridged within 60 s")
        assert demo.daemon is not None
        # The agent API of the running daemon sees both agents on their calls.
        base = api_base(tmp_path / "daemon.log")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/agents") as resp:
                roster = {a["agent"]: a for a in (await resp.json())["agents"]}
            assert {a["state"] for a in roster.values()} == {"busy"}
            async with http.get(f"{base}/agents/agent1/call") as resp:
                call = await resp.json()
            assert call["campaign"] == "demo" and call["token"] > 0
            assert call["call_id"] == roster["agent1"]["call_id"]
            async with http.get(f"{base}/campaigns/demo/records/{call['record_id']}") as resp:
                assert resp.status == 200
            async with http.post(f"{base}/agents/nobody/ready") as resp:
                assert resp.status == 404
        sent = time.monotonic()
        demo.daemon.send_signal(signal.SIGTERM)
        summary = await asyncio.wait_for(task, 60)
        took = time.monotonic() - sent
    finally:
        demo.stop_all()
    events = await read_events(redis_client, redis_prefix)
    assert summary["daemon_exit"] == 0
    # drain_timeout 2 s, then hang-up: well under the 60 s the customers would talk.
    assert took < 15
    placed = {e["call_id"] for e in events if e["type"] == "CallPlaced"}
    ended = {e["call_id"]: e for e in events if e["type"] == "CallEnded"}
    assert placed and set(ended) == placed
    assert all(e["hangup_by"] == "dialer" for e in ended.values() if e["outcome"] == "answered")
    assert any(e["type"] == "CampaignStopped" and e["reason"] == "shutdown" for e in events)
    # No lease is left behind, and records never dialed are still there to dial.
    assert summary["record_states"]["in_progress"] == 0
    assert summary["record_states"]["pending"] + summary["record_states"]["done"] == 6
    assert summary["record_states"]["pending"] >= 6 - len(placed)


def api_base(daemon_log: Path) -> str:
    """The agent API's address, from the daemon's api_listening log line (port 0 = any)."""
    for line in daemon_log.read_text().splitlines():
        if '"api_listening"' in line:
            address = json.loads(line)["addresses"][0]  # "('127.0.0.1', 41234)"
            host, port = address.strip("()").replace("'", "").split(", ")
            return f"http://{host}:{port}"
    raise AssertionError("the daemon did not log api_listening")


def run_daemon(config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dialer.cli", "run", "--config", str(config), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )


def test_bad_config_names_the_field(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[sip]\nring_timeout_s = 5\n")
    proc = run_daemon(cfg)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "sip.ring_timeout_s" in err and "15" in err


def test_redis_down_at_start_waits_and_stops_cleanly(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    cfg = tmp_path / "dialer.toml"
    cfg.write_text(f'[redis]\nurl = "redis://127.0.0.1:{dead_port}/0"\n')
    proc = run_daemon(cfg)
    time.sleep(2.5)
    assert proc.poll() is None, "the daemon must wait for Redis, not crash"
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=20)
    assert "redis_unavailable" in err
    assert f"127.0.0.1:{dead_port}" in err
    assert proc.returncode == 1
    assert "Traceback" not in err


async def test_power_mode_connects_within_2_s_or_plays_safe_harbor(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    """3 lines per agent on a 60 % answer mix overdials on purpose: some answers find
    no free agent. Each such call must hear the safe-harbor message and count as
    abandoned; every bridged call must be connected within 2 s of its answer."""
    demo = demo_for(tmp_path, redis_url, redis_prefix, "--records", "30", "--agents", "2",
                    "--talk-s", "3", "--mode", "power", "--power-ratio", "3")
    try:
        summary = await demo.run()
    finally:
        demo.stop_all()
    events = await read_events(redis_client, redis_prefix)
    assert summary["daemon_exit"] == 0 and summary["attempts"] == 30
    assert summary["record_states"]["done"] == 30
    answered_at = {e["call_id"]: e["at"] for e in events if e["type"] == "CallAnswered"}
    bridged = {e["call_id"]: e for e in events if e["type"] == "CallBridged"}
    harbor = {e["call_id"]: e for e in events if e["type"] == "MessagePlayed"}
    ended = {e["call_id"]: e for e in events if e["type"] == "CallEnded"}
    abandoned = {c for c, e in ended.items() if e["outcome"] == "abandoned"}

    assert abandoned, "3 lines per agent should have overdialed at least once"
    assert set(harbor) == abandoned
    assert all(h["reason"] == "safe_harbor" for h in harbor.values())
    # 16 CFR 310.4(b)(1)(iv): agent or recorded message within 2 s of the answer.
    for call_id, at in answered_at.items():
        if call_id in bridged:
            assert bridged[call_id]["at"] - at <= 2.0 and call_id not in abandoned
        else:
            assert call_id in abandoned
            assert 1.9 <= harbor[call_id]["at"] - at <= 2.5
    # Lines that may still need an agent: dialed, not yet bridged, ended or
    # handed to the safe-harbor message. Power mode keeps up to 3 per agent
    # (bridged calls count against the agents' share).
    open_lines: set[str] = set()
    peak = 0
    for e in events:
        if e["type"] == "CallPlaced":
            open_lines.add(e["call_id"])
        elif e["type"] in ("CallBridged", "CallEnded", "MessagePlayed"):
            open_lines.discard(e["call_id"])
        peak = max(peak, len(open_lines))
    assert 2 < peak <= 6


async def test_predictive_campaign_publishes_pacing_and_finishes(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    demo = demo_for(tmp_path, redis_url, redis_prefix, "--records", "20", "--agents", "2",
                    "--talk-s", "3", "--mode", "predictive")
    try:
        summary = await demo.run()
    finally:
        demo.stop_all()
    events = await read_events(redis_client, redis_prefix)
    assert summary["daemon_exit"] == 0 and summary["record_states"]["done"] == 20
    pacing = [e for e in events if e["type"] == "PacingUpdated"]
    assert pacing and all(p["mode"] == "predictive" and p["campaign"] == "demo" for p in pacing)
    assert all(0.0 <= p["abandon_rate_30d"] <= 1.0 for p in pacing)
    # The ledger survives the daemon: it is persisted in Redis for the 30-day window.
    assert await redis_client.exists(f"{redis_prefix}:demo:abandon-ledger")
    ended = [e for e in events if e["type"] == "CallEnded"]
    abandoned = {e["call_id"] for e in ended if e["outcome"] == "abandoned"}
    harbor = {e["call_id"] for e in events if e["type"] == "MessagePlayed"}
    assert harbor == abandoned


async def test_campaign_waits_for_the_start_command(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    """Without autostart nothing is dialed until `dialer campaign start` arrives on the
    command stream; then the campaign runs to the end."""
    demo = demo_for(tmp_path, redis_url, redis_prefix, "--records", "3", "--agents", "1", "--talk-s", "1")
    demo.args.autostart = False
    task = asyncio.create_task(demo.run())
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            kinds = {e["type"] for e in await read_events(redis_client, redis_prefix)}
            if "AgentStateChanged" in kinds:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # several pacing ticks with a Ready agent
        kinds = {e["type"] for e in await read_events(redis_client, redis_prefix)}
        assert "CallPlaced" not in kinds and "CampaignStarted" not in kinds
        sent = subprocess.run(
            [sys.executable, "-m", "dialer.cli", "campaign", "start", "demo", "--config", str(tmp_path / "dialer.toml")],
            capture_output=True, text=True, timeout=30,
        )
        assert sent.returncode == 0, sent.stderr
        summary = await asyncio.wait_for(task, 60)
    finally:
        demo.stop_all()
    assert summary["daemon_exit"] == 0 and summary["record_states"]["done"] == 3
    events = await read_events(redis_client, redis_prefix)
    assert [e["reason"] for e in events if e["type"] == "CampaignStopped"] == ["finished"]

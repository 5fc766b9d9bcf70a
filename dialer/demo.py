"""The loopback demo behind ``scripts/demo``: a real progressive campaign, no PBX.

    scripts/demo [--records N] [--agents N] [--talk-s S] [--json] [--keep]

It starts on 127.0.0.1 everything a campaign needs:
- Redis: the one on 127.0.0.1:6379 if it answers (keys under a private prefix,
  deleted at the end), else a private ``redis-server`` on a free port;
- "customers": one sipp UAS whose behaviour follows the last digit of the
  dialed number (0-5 answer and talk, 6-7 busy, 8 ring then 480, 9 decline);
- agents: PJSIP softphones (``dialer agent-phone``) that auto-answer the
  dialer's nailed-up agent legs;
- the daemon itself (``dialer run --exit-when-finished``) as a subprocess,
  after ``dialer import`` has loaded a generated calling list.

While it runs it follows the Redis event stream and prints progress; at the
end it prints a summary built from the events (or one JSON object with
``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from dialer.bus.publisher import decode_event

ROOT = Path(__file__).resolve().parent.parent
SIPP_SCENARIO = ROOT / "tests" / "integration" / "sipp" / "customer_uas.xml"
DEMO_TIMEOUT_S = 600.0


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_pair() -> int:
    """A port free for both UDP and TCP (sipp and redis want TCP too)."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port on 127.0.0.1")


def say(msg: str) -> None:
    print(f"[demo] {msg}", file=sys.stderr, flush=True)


class Demo:
    """Everything a loopback campaign needs; tests drive it with their own Redis and work dir."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        work: Path | None = None,
        redis_url: str = "",
        prefix: str = "",
    ) -> None:
        self.args = args
        self.work = work or ROOT / "var" / "demo"
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.prefix = prefix or f"demo{os.getpid()}"
        self.redis_url = redis_url
        self.private_redis = False
        self.daemon: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------ processes

    def spawn(self, name: str, cmd: list[str], **kw: Any) -> subprocess.Popen[bytes]:
        log = open(self.work / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, stdout=kw.pop("stdout", log), stderr=log, stdin=subprocess.DEVNULL, **kw)
        self.procs.append((name, proc))
        return proc

    def stop_all(self) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    say(f"{name} did not stop on SIGTERM; killing it")
                    proc.kill()
                    proc.wait()

    async def start_redis(self) -> None:
        if self.redis_url:
            return
        client = aioredis.from_url("redis://127.0.0.1:6379/0")
        try:
            await client.ping()
            self.redis_url = "redis://127.0.0.1:6379/0"
            say(f"using Redis on 127.0.0.1:6379 (keys under {self.prefix}:)")
            return
        except (aioredis.ConnectionError, OSError):
            pass
        finally:
            await client.aclose()
        server = shutil.which("redis-server")
        if server is None:
            raise SystemExit("demo: no Redis answers on 127.0.0.1:6379 and redis-server is not installed (run scripts/setup)")
        port = free_port_pair()
        self.spawn("redis", [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.work)])
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        self.private_redis = True
        for _ in range(100):
            probe = aioredis.from_url(self.redis_url)
            try:
                await probe.ping()
                say(f"started a private redis-server on 127.0.0.1:{port}")
                return
            except (aioredis.ConnectionError, OSError):
                await asyncio.sleep(0.05)
            finally:
                await probe.aclose()
        raise SystemExit("demo: private redis-server did not start (see var/demo/redis.log)")

    def start_customers(self, port: int) -> None:
        sipp = shutil.which("sipp")
        if sipp is None:
            raise SystemExit("demo: sipp not found (Debian package sip-tester; run scripts/setup)")
        self.spawn("sipp-customers", [
            sipp, "-sf", str(SIPP_SCENARIO), "-i", "127.0.0.1", "-p", str(port),
            "-mp", str(free_port_pair()), "-rtp_echo", "-set", "talk_ms", str(int(self.args.talk_s * 1000)),
            "-nostdin", "-trace_err", "-error_file", str(self.work / "sipp-errors.log"),
        ])

    def start_agents(self, port: int) -> None:
        proc = self.spawn("agent-phones", [
            sys.executable, "-m", "dialer.cli", "agent-phone", "--agents", str(self.args.agents),
            "--host", "127.0.0.1", "--port", str(port),
        ], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.strip() == b"READY":
                say(f"{self.args.agents} agent softphones listening on 127.0.0.1:{port}")
                return
        raise SystemExit("demo: agent softphones did not start (see var/demo/agent-phones.log)")

    # ------------------------------------------------------------ campaign

    def write_list(self) -> Path:
        """A calling list whose last digits give the customer mix (see module doc)."""
        rng = random.Random(self.args.seed)
        ids = list(range(self.args.records))
        rng.shuffle(ids)
        path = self.work / "calling-list.csv"
        with path.open("w") as f:
            f.write("id,first_name,last_name,phone,timezone\n")
            for i in ids:
                f.write(f"R{i:05d},Customer,{i},+1 212 555 {i % 10000:04d},America/New_York\n")
        return path

    def write_config(self, sip_port: int, trunk_port: int, agent_port: int) -> Path:
        agents = "\n".join(
            f'[[agents]]\nid = "agent{k}"\nextension = "sip:agent{k}@127.0.0.1:{agent_port}"\nwrap_up_s = {self.args.wrap_s}\nauto_disposition = "Sale"\n'
            for k in range(1, self.args.agents + 1)
        )
        text = f"""# Generated by scripts/demo: a loopback campaign against sipp customers.
[node]
name = "demo"
drain_timeout_s = {self.args.drain_s}

[redis]
url = "{self.redis_url}"
events_stream = "{self.prefix}:events"
prefix = "{self.prefix}"

[sip]
bind_host = "127.0.0.1"
bind_port = {sip_port}
trunk_host = "127.0.0.1"
trunk_port = {trunk_port}
max_calls = 64
rtp_port_start = {self.args.rtp_port}

[api]
port = 0   # any free port: the demo does not need a fixed one

[logging]
level = "info"

{agents}
[[campaigns]]
name = "demo"
mode = "{self.args.mode}"
power_ratio = {self.args.power_ratio}
autostart = {"true" if self.args.autostart else "false"}
caller_id = "+12125550100"

[campaigns.policy]
# The demo's customers are fictional numbers on loopback, so it dials at any
# hour; a real campaign keeps the 08:00-21:00 default (16 CFR 310.4(c)).
calling_hours = "00:00-24:00"
{self.args.policy_toml}
{self.args.campaign_toml}
"""
        path = self.work / "dialer.toml"
        path.write_text(text)
        return path

    async def follow(self, daemon: subprocess.Popen[bytes]) -> dict[str, Any]:
        client = aioredis.from_url(self.redis_url)
        stream = f"{self.prefix}:events"
        last = "0-0"
        outcomes: Counter[str] = Counter()
        state = {"events": 0, "talk_s": 0.0, "answered": 0, "placed": 0, "bridged": 0}
        agent_since: dict[str, tuple[str, float]] = {}
        working = logged = 0.0
        first_at = last_at = 0.0
        last_print = 0.0
        deadline = time.monotonic() + DEMO_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                reply = await client.xread({stream: last}, block=200, count=1000)
                for _k, entries in reply or []:
                    for entry_id, fields in entries:
                        last = entry_id
                        e = decode_event(fields[b"event"])
                        state["events"] += 1
                        kind = e["type"]
                        first_at = first_at or e["at"]
                        last_at = e["at"]
                        if kind == "CallPlaced":
                            state["placed"] += 1
                        elif kind == "CallBridged":
                            state["bridged"] += 1
                        elif kind == "CallEnded":
                            outcomes[e["outcome"]] += 1
                            state["talk_s"] += e["talk_s"]
                        elif kind == "AgentStateChanged":
                            prev = agent_since.get(e["agent_id"])
                            if prev is not None:
                                dt = e["at"] - prev[1]
                                if prev[0] != "logged_out":
                                    logged += dt
                                if prev[0] in ("busy", "wrap_up"):
                                    working += dt
                            agent_since[e["agent_id"]] = (e["new"], e["at"])
                now = time.monotonic()
                if now - last_print >= 1.0:
                    last_print = now
                    busy = sum(1 for s, _ in agent_since.values() if s == "busy")
                    done = sum(outcomes.values())
                    say(f"dialed {state['placed']:>4}  finished {done:>4}/{self.args.records}  "
                        f"bridged {state['bridged']:>4}  agents talking {busy}/{self.args.agents}  "
                        + " ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
                if daemon.poll() is not None and not reply:
                    break
            else:
                say("demo timed out; stopping the daemon")
            # Close the agents' open intervals at the last event.
            for st, since in agent_since.values():
                if st != "logged_out":
                    logged += max(0.0, last_at - since)
                if st in ("busy", "wrap_up"):
                    working += max(0.0, last_at - since)
            counts = await self.record_counts(client)
            published = int(await client.xlen(stream))
        finally:
            await client.aclose()
        return {
            "records": self.args.records,
            "attempts": sum(outcomes.values()),
            "outcomes": dict(sorted(outcomes.items())),
            "talk_time_s": round(state["talk_s"], 1),
            "agent_occupancy": round(working / logged, 3) if logged > 0 else 0.0,
            "events_published": published,
            "campaign_s": round(last_at - first_at, 1),
            "record_states": counts,
        }

    async def record_counts(self, client: aioredis.Redis) -> dict[str, int]:
        from dialer.campaign.policy import CampaignPolicy
        from dialer.store.records import RecordStore

        store = RecordStore(client, campaign="demo", policy=CampaignPolicy(), prefix=self.prefix)
        return dict(await store.counts(time.time()))

    async def cleanup_keys(self) -> None:
        if self.private_redis or self.args.keep:
            return
        client = aioredis.from_url(self.redis_url)
        try:
            keys = [k async for k in client.scan_iter(match=f"{self.prefix}:*", count=1000)]
            for i in range(0, len(keys), 500):
                await client.delete(*keys[i : i + 500])
        finally:
            await client.aclose()

    async def run(self) -> dict[str, Any]:
        self.work.mkdir(parents=True, exist_ok=True)
        await self.start_redis()
        sip_port, trunk_port, agent_port = free_port_pair(), free_port_pair(), free_port_pair()
        self.start_customers(trunk_port)
        self.start_agents(agent_port)
        cfg = self.write_config(sip_port, trunk_port, agent_port)
        calling_list = self.write_list()
        cli = [sys.executable, "-m", "dialer.cli"]
        imported = subprocess.run([*cli, "import", "demo", str(calling_list), "--config", str(cfg)],
                                  capture_output=True, text=True)
        if imported.returncode != 0:
            raise SystemExit(f"demo: import failed:\n{imported.stdout}{imported.stderr}")
        say(imported.stdout.strip().splitlines()[-1] if imported.stdout.strip() else "list imported")
        started = time.monotonic()
        daemon = self.daemon = self.spawn("daemon", [*cli, "run", "--config", str(cfg), "--exit-when-finished"])
        summary = await self.follow(daemon)
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
        summary["wall_s"] = round(time.monotonic() - started, 1)
        summary["daemon_exit"] = code
        return summary


def render(summary: dict[str, Any]) -> str:
    lines = [
        "",
        f"Campaign finished in {summary['wall_s']} s: {summary['records']} records, {summary['attempts']} attempts",
        "Outcomes:",
        *[f"  {k:<16} {v:>5}" for k, v in summary["outcomes"].items()],
        f"Talk time:        {summary['talk_time_s']} s",
        f"Agent occupancy:  {summary['agent_occupancy']:.1%}",
        f"Record states:    {summary['record_states']}",
        f"Events on Redis:  {summary['events_published']}",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--mode", choices=["progressive", "power", "predictive"], default="progressive")
    parser.add_argument("--power-ratio", type=float, default=1.5, help="lines per agent in power mode")
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--talk-s", type=float, default=2.0, help="how long answering customers talk")
    parser.add_argument("--wrap-s", type=float, default=0.5, help="agents' after-call work")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rtp-port", type=int, default=30000)
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--keep", action="store_true", help="keep the demo's Redis keys")
    parser.add_argument("--drain-s", type=float, default=10.0, help="daemon drain timeout on SIGTERM")
    args = parser.parse_args(argv)
    if args.records < 1 or args.agents < 1:
        parser.error("--records and --agents must be at least 1")
    # One attempt per record keeps the demo short: every record ends in one call.
    args.policy_toml = "max_attempts_per_record = 1"
    args.campaign_toml = ""  # tests add e.g. an [campaigns.amd] table here
    args.autostart = True  # tests start it with `dialer campaign start` instead
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    demo = Demo(args)
    try:
        summary = asyncio.run(demo.run())
    finally:
        demo.stop_all()
        with contextlib.suppress(Exception):
            asyncio.run(demo.cleanup_keys())
    if args.json:
        keys = ["records", "attempts", "outcomes", "agent_occupancy", "events_published"]
        out = {k: summary[k] for k in keys} | {k: v for k, v in summary.items() if k not in keys}
        print(json.dumps(out))
    else:
        print(render(summary))
    return 0 if summary["daemon_exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

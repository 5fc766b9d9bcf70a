"""``dialer run``: the daemon that ties the edges together.

    dialer run --config config/dialer.toml [--exit-when-finished]

Start-up: wait for Redis (a Redis that is down at start is retried with a
clear log line, never a crash), start the PJSIP thread (the log states the
engine version and call capacity), bring up one nailed-up leg per agent,
start the campaigns marked ``autostart``, and follow the command stream
(``<prefix>:commands``, written by ``dialer campaign``).

SIGTERM / SIGINT drains: no new dials; calls in progress get
``node.drain_timeout_s`` to finish, then are hung up; every lease not
settled by a call result is released so another node can take the record.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import Any

import msgspec
import redis.asyncio as aioredis
import structlog

from dialer import __version__
from dialer import config as config_mod
from dialer import events as ev
from dialer.agents.state import AgentEvent, AgentState, Roster
from dialer.bus.publisher import EventBus
from dialer.dialing import CampaignRunner
from dialer.errors import ConfigError, DialerError
from dialer.logsetup import configure

TICK_S = 0.5  # the pacer decides at least every 0.5 s (issue 4) and on every event
STATS_EVERY_S = 5.0
AGENT_RECONNECT_S = 3.0


class Command(msgspec.Struct, frozen=True, kw_only=True):
    cmd: str  # start | stop | agent_ready | agent_not_ready
    campaign: str = ""
    agent: str = ""


class Daemon:
    def __init__(self, cfg: config_mod.Config, *, exit_when_finished: bool = False) -> None:
        self.cfg = cfg
        self.exit_when_finished = exit_when_finished
        self.log = structlog.get_logger("dialer.daemon").bind(node=cfg.node.name)
        self.roster = Roster()
        self.runners: dict[str, CampaignRunner] = {}
        self.stopping = asyncio.Event()
        self.draining = False
        self.redis: aioredis.Redis | None = None
        self.bus: EventBus | None = None
        self.edge: Any = None

    # ------------------------------------------------------------ start-up

    async def _connect_redis(self) -> aioredis.Redis:
        client = aioredis.from_url(self.cfg.redis.url)
        delay = 0.5
        while True:
            try:
                await client.ping()
                return client
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                self.log.error("redis_unavailable", url=self.cfg.redis.url, error=str(exc), retry_in_s=delay)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
                if self.stopping.is_set():
                    raise DialerError(f"stopped while waiting for Redis at {self.cfg.redis.url}") from None
                delay = min(delay * 2, 10.0)

    def publish(self, event: ev.Event) -> None:
        assert self.bus is not None
        self.bus.publish(event)

    async def _make_runner(self, settings: config_mod.CampaignSettings) -> CampaignRunner:
        from dialer.pacing_adapter import LivePacing
        from dialer.store.records import RecordStore

        assert self.redis is not None
        store = RecordStore(self.redis, campaign=settings.name, policy=settings.policy, prefix=self.cfg.redis.prefix)
        amd_factory = None
        if settings.amd.enabled:
            from media.amd import make_session

            detector = settings.amd.detector

            def amd_factory() -> Any:
                # One streaming session per answered call: the verdict, then
                # (machines) the drop point where a voicemail message starts.
                return make_session(detector)

        return CampaignRunner(
            settings, self.cfg, store=store, edge=self.edge, publish=self.publish, roster=self.roster,
            pacing=await LivePacing.load(settings, self.redis, self.cfg.redis.prefix),
            amd_factory=amd_factory, on_agent_free=self.kick_all,
        )

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        self.redis = await self._connect_redis()
        self.bus = EventBus(self.redis, self.cfg.redis.events_stream, maxlen=self.cfg.redis.stream_maxlen)
        self.bus.start()

        from dialer.sip.edge import SipEdge

        self.edge = SipEdge(self.cfg.sip, self._on_sip_event, loop=loop)
        info = await self.edge.start()
        engine = f"pjproject {info.get('pjproject', '?')}"
        capacity = int(info.get("capacity", info.get("max_calls", 0)))
        self.log.info("daemon_started", version=__version__, engine=engine, capacity=capacity,
                      sip=f"{self.cfg.sip.bind_host}:{self.cfg.sip.bind_port}",
                      trunk=f"{self.cfg.sip.trunk_host}:{self.cfg.sip.trunk_port}")
        self.publish(ev.DaemonStarted(at=time.time(), node=self.cfg.node.name, version=__version__, engine=engine, capacity=capacity))

        now = time.time()
        for agent in self.cfg.agents:
            self.roster.add(agent.id, now)
            self.edge.connect_agent(agent.id, agent.extension)
        for settings in self.cfg.campaigns:
            self.runners[settings.name] = await self._make_runner(settings)
            if settings.autostart:
                self.runners[settings.name].start()

        api_runner = await self._start_api()
        background = [
            asyncio.create_task(self._ticker(), name="ticker"),
            asyncio.create_task(self._commands(), name="commands"),
        ]
        await self.stopping.wait()
        await self._drain()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if api_runner is not None:
            await api_runner.cleanup()
        await self.edge.stop(timeout_s=5.0)
        self.publish(ev.DaemonStopped(at=time.time(), node=self.cfg.node.name, reason=self._stop_reason))
        await self.bus.close()
        await self.redis.aclose()
        self.log.info("daemon_stopped", reason=self._stop_reason, events_published=self.bus.published)
        return 0

    _stop_reason = "signal"

    async def _start_api(self) -> Any:
        """The agent API (docs/api.md) on [api] host:port; None when disabled."""
        if not self.cfg.api.enabled:
            return None
        from dialer.api.app import make_app, start_api
        from dialer.store.dnc import DncList
        from dialer.store.keys import Keys

        assert self.redis is not None
        app = make_app(
            lambda campaign: self.runners[campaign].store, self,
            agents={a.id for a in self.cfg.agents},
            agent_campaigns={a.id: a.campaigns for a in self.cfg.agents},
            global_dnc=DncList(self.redis, Keys(self.cfg.redis.prefix, "-").global_dnc),
            token=os.environ.get("DIALER_API_TOKEN") or None,
        )
        try:
            runner = await start_api(app, self.cfg.api.host, self.cfg.api.port)
        except OSError as exc:
            raise DialerError(f"agent API cannot listen on {self.cfg.api.host}:{self.cfg.api.port}: {exc.strerror}") from None
        self.log.info("api_listening", addresses=[str(a) for a in runner.addresses])
        return runner

    def request_stop(self, reason: str = "signal") -> None:
        if not self.stopping.is_set():
            self._stop_reason = reason
            self.log.info("stop_requested", reason=reason)
            self.stopping.set()

    # ------------------------------------------------------------ loops

    def kick_all(self) -> None:
        for runner in self.runners.values():
            runner.kick()

    async def _ticker(self) -> None:
        last_stats = last_renew = time.monotonic()
        while True:
            await asyncio.sleep(TICK_S)
            self.kick_all()
            mono = time.monotonic()
            if mono - last_renew >= self.cfg.node.lease_s / 3:
                last_renew = mono
                for runner in self.runners.values():
                    await runner.renew_leases()
            if mono - last_stats >= STATS_EVERY_S:
                last_stats = mono
                await self._publish_pacing()
            if self.exit_when_finished and self.runners and all(r.finished for r in self.runners.values()):
                self.request_stop("finished")

    async def _publish_pacing(self) -> None:
        assert self.redis is not None
        for runner in self.runners.values():
            if runner.running:
                self.publish(runner.pacing.stats_event(runner, time.time()))
            try:
                await runner.pacing.save(self.redis, self.cfg.redis.prefix)
            except (aioredis.ConnectionError, OSError) as exc:
                self.log.warning("abandon_ledger_not_saved", campaign=runner.name, error=str(exc))

    async def _commands(self) -> None:
        assert self.redis is not None
        key = f"{self.cfg.redis.prefix}:commands"
        last = "$"
        decoder = msgspec.json.Decoder(Command)
        while True:
            try:
                reply = await self.redis.xread({key: last}, block=1000, count=100)
            except (aioredis.ConnectionError, OSError) as exc:
                self.log.warning("commands_unavailable", error=str(exc))
                await asyncio.sleep(1.0)
                continue
            for _key, entries in reply or []:
                for entry_id, fields in entries:
                    last = entry_id
                    try:
                        self._apply(decoder.decode(fields.get(b"command", b"")))
                    except (msgspec.DecodeError, DialerError) as exc:
                        self.log.error("bad_command", id=str(entry_id), error=str(exc))

    def _apply(self, command: Command) -> None:
        self.log.info("command", cmd=command.cmd, campaign=command.campaign, agent=command.agent)
        if command.cmd in ("start", "stop"):
            runner = self.runners.get(command.campaign)
            if runner is None:
                raise DialerError(f"unknown campaign {command.campaign!r}")
            if command.cmd == "start" and not self.draining:
                runner.start()
            elif command.cmd == "stop":
                runner.stop("operator")
            return
        agent = self.roster.agents.get(command.agent)
        if agent is None:
            raise DialerError(f"unknown agent {command.agent!r}")
        target = AgentEvent.READY if command.cmd == "agent_ready" else AgentEvent.NOT_READY
        if command.cmd not in ("agent_ready", "agent_not_ready"):
            raise DialerError(f"unknown command {command.cmd!r}")
        self._agent_event(agent.agent_id, target, command.cmd)

    # ------------------------------------------------------------ control (agent API)

    def agent_ready(self, agent_id: str) -> None:
        """Raises KeyError for an unknown agent, InvalidTransition when not allowed now.

        Ready during after-call work is the agent's "Done": it ends the wrap-up.
        """
        agent = self.roster.agents[agent_id]
        if agent.state is AgentState.READY:
            return
        event = AgentEvent.WRAP_DONE if agent.state is AgentState.WRAP_UP else AgentEvent.READY
        self._agent_event(agent_id, event, "api")

    def agent_not_ready(self, agent_id: str) -> None:
        agent = self.roster.agents[agent_id]
        if agent.state is not AgentState.NOT_READY:
            self._agent_event(agent_id, AgentEvent.NOT_READY, "api")

    def agent_call(self, agent_id: str) -> dict[str, Any] | None:
        """The call and record lease an agent is working now (to dispose it through the API)."""
        agent = self.roster.agents[agent_id]
        if not agent.call_id:
            return None
        found = self._runner_for(agent.call_id)
        if found is None:
            return None
        runner, call = found
        return {"campaign": runner.name, "call_id": call.call_id, "record_id": call.claim.record_id,
                "token": call.claim.token, "number": call.claim.number}

    def agents(self) -> list[dict[str, Any]]:
        now = time.time()
        return [
            {"agent": a.agent_id, "state": a.state.value, "since": a.since, "call_id": a.call_id,
             "calls": a.calls, "occupancy": round(a.occupancy(now)[0] / max(a.occupancy(now)[1], 1e-9), 4)}
            for a in self.roster.agents.values()
        ]

    async def dial_for_agent(self, campaign: str, ref: Any, agent_id: str) -> str:
        """Preview accept: dial the agent's claimed record with the agent reserved for it."""
        from dialer.store.core import Claim

        runner = self.runners[campaign]
        agent = self.roster.agents[agent_id]
        loaded = await runner.store.load(ref)
        number = loaded.record.numbers[loaded.pick]
        claim = Claim(record_id=ref.record_id, token=ref.token, number=number.number,
                      number_index=loaded.pick, attempt=len(loaded.progress.marks) + 1,
                      record=loaded.record, claimer=agent_id, lease_until=time.time() + self.cfg.node.lease_s)
        return runner.dial_for_agent(claim, agent)

    # ------------------------------------------------------------ SIP events

    def _runner_for(self, call_id: str) -> tuple[CampaignRunner, Any] | None:
        for runner in self.runners.values():
            call = runner.calls.get(call_id)
            if call is not None:
                return runner, call
        return None

    def _agent_event(self, agent_id: str, event: AgentEvent, reason: str = "") -> None:
        agent = self.roster.agents[agent_id]
        now = time.time()
        old, new = agent.handle(event, now)
        self.publish(ev.AgentStateChanged(at=now, agent_id=agent_id, campaign="", old=old.value, new=new.value, reason=reason or event.value))
        if new is AgentState.READY:
            self.kick_all()

    def _on_sip_event(self, event: Any) -> None:
        """Runs on the event loop (the edge posts with call_soon_threadsafe)."""
        try:
            self._dispatch(event)
        except Exception:  # an event handler bug must not kill the daemon
            self.log.exception("sip_event_failed", event=type(event).__name__)

    def _dispatch(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "AgentLegUp":
            agent = self.roster.agents.get(event.agent_id)
            if agent is not None and agent.state is AgentState.LOGGED_OUT:
                self._agent_event(event.agent_id, AgentEvent.LOGIN, "phone_leg_up")
                self._agent_event(event.agent_id, AgentEvent.READY, "auto_ready")
            return
        if kind == "AgentLegDown":
            self._agent_leg_down(event)
            return
        found = self._runner_for(event.call_id)
        if found is None:
            self.log.debug("event_for_unknown_call", event=kind, call_id=event.call_id)
            return
        runner, call = found
        if kind == "CallProgress":
            runner.on_progress(call, event.sip_code)
        elif kind == "CallConnected":
            runner.on_connected(call, event.mono)
        elif kind == "FrameResult":
            runner.on_amd(call, event.value)
        elif kind == "BridgeFailed":
            runner.on_bridge_failed(call, event.agent_id, event.reason)
        elif kind == "CallFinished":
            runner.on_finished(call, event.outcome, event.sip_code, event.reason, event.mono, event.hangup_by)

    def _agent_leg_down(self, event: Any) -> None:
        agent = self.roster.agents.get(event.agent_id)
        if agent is None:
            return
        self.log.warning("agent_leg_down", agent_id=event.agent_id, sip_code=event.sip_code, reason=event.reason)
        if agent.state is not AgentState.LOGGED_OUT:
            self._agent_event(event.agent_id, AgentEvent.LOGOUT, "phone_leg_down")
        if not self.draining:
            ext = next(a.extension for a in self.cfg.agents if a.id == event.agent_id)
            asyncio.get_running_loop().call_later(
                AGENT_RECONNECT_S, lambda: None if self.draining else self.edge.connect_agent(event.agent_id, ext)
            )

    # ------------------------------------------------------------ drain

    async def _drain(self) -> None:
        self.draining = True
        for runner in self.runners.values():
            runner.stop("shutdown")
        deadline = time.monotonic() + self.cfg.node.drain_timeout_s
        while any(r.calls for r in self.runners.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        leftover = [(r, c) for r in self.runners.values() for c in r.calls.values()]
        if leftover:
            self.log.warning("drain_timeout_hanging_up", calls=len(leftover))
            for _runner, call in leftover:
                call.hangup_by = "dialer"
                self.edge.hangup(call.call_id)
            end = time.monotonic() + 5.0
            while any(r.calls for r in self.runners.values()) and time.monotonic() < end:
                await asyncio.sleep(0.1)
        for runner in self.runners.values():
            await runner.wait_tasks()
            for call in list(runner.calls.values()):
                # No final SIP result arrived: give the record back rather than guess an outcome.
                await runner.store.release(call.claim)
                runner.calls.pop(call.call_id, None)
        for agent in self.cfg.agents:
            self.edge.disconnect_agent(agent.id)
        await self._publish_pacing()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dialer run", description="run the dialer daemon")
    parser.add_argument("--config", default="config/dialer.toml")
    parser.add_argument("--exit-when-finished", action="store_true",
                        help="stop once every started campaign has no records left (demo, batch runs)")
    args = parser.parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
    except ConfigError as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return 2
    configure(cfg.logging.level, json=cfg.logging.json)
    try:
        return asyncio.run(Daemon(cfg, exit_when_finished=args.exit_when_finished).run())
    except DialerError as exc:
        structlog.get_logger("dialer.daemon").error("daemon_failed", error=str(exc))
        print(f"dialer: {exc}", file=sys.stderr)
        return 1

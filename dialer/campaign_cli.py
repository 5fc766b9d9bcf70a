"""``dialer campaign``: drive a running daemon through its command stream.

    dialer campaign start NAME [--config config/dialer.toml]
    dialer campaign stop NAME
    dialer campaign agent-ready AGENT | agent-not-ready AGENT

Commands go to the Redis Stream ``<prefix>:commands`` that every daemon
follows; the daemon answers with events on the event stream
(CampaignStarted, CampaignStopped, AgentStateChanged).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import msgspec
import redis.asyncio as aioredis

from dialer import config as config_mod
from dialer.daemon import Command
from dialer.errors import ConfigError

ACTIONS = {"start": "start", "stop": "stop", "agent-ready": "agent_ready", "agent-not-ready": "agent_not_ready"}


async def send(cfg: config_mod.Config, command: Command) -> int:
    client = aioredis.from_url(cfg.redis.url)
    try:
        entry = await client.xadd(f"{cfg.redis.prefix}:commands", {"command": msgspec.json.encode(command)})
    except (aioredis.ConnectionError, OSError) as exc:
        print(f"dialer campaign: cannot reach Redis at {cfg.redis.url}: {exc}", file=sys.stderr)
        return 1
    finally:
        await client.aclose()
    print(f"sent {command.cmd} ({entry.decode() if isinstance(entry, bytes) else entry})")
    return 0


def build_command(cfg: config_mod.Config, cmd: str, target: str) -> Command:
    """The command for ``target``; ConfigError when the config has no such campaign or agent."""
    if cmd in ("start", "stop"):
        cfg.campaign(target)
        return Command(cmd=cmd, campaign=target)
    if target not in {a.id for a in cfg.agents}:
        raise ConfigError("agents", f"no agent {target!r}")
    return Command(cmd=cmd, agent=target)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dialer campaign", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=sorted(ACTIONS))
    parser.add_argument("target", help="campaign name, or agent id for agent-ready / agent-not-ready")
    parser.add_argument("--config", default="config/dialer.toml")
    args = parser.parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
        command = build_command(cfg, ACTIONS[args.action], args.target)
    except ConfigError as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(send(cfg, command))

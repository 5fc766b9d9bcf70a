"""Typed configuration loaded from TOML (ARCHITECTURE.md habit 7).

Every field has a docstring-style comment and a default where one is safe.
Loading validates the whole tree; any problem raises :class:`ConfigError`
naming the dotted field (``sip.ring_timeout_s``, ``campaigns[0].mode``).
Secrets may come from the environment: ``DIALER_SIP_PASSWORD``, ``DIALER_REDIS_URL``.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from pathlib import Path
from typing import Any, Literal

import msgspec

from dialer.campaign.policy import CampaignPolicy
from dialer.errors import ConfigError

# 47 CFR 64.1200(a)(6) and Ofcom's persistent-misuse policy: let a call ring at
# least 15 seconds before the dialer gives up on it.
MIN_RING_TIMEOUT_S = 15.0


class NodeSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str = "dialer-1"  # identifies this daemon in events and lease owners
    drain_timeout_s: float = 30.0  # on SIGTERM, active calls get this long before hang-up
    lease_s: float = 60.0  # record lease length; renewed while a call is up


class RedisSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str = "redis://127.0.0.1:6379/0"
    events_stream: str = "dialer:events"  # the Redis Stream every event goes to
    stream_maxlen: int = 1_000_000  # approximate MAXLEN trimming of the event stream
    prefix: str = "dialer"  # key prefix for records, leases, stats


class SipSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    bind_host: str = "127.0.0.1"  # address our SIP and RTP sockets bind to and advertise
    bind_port: int = 5080  # local SIP UDP port
    trunk_host: str = "127.0.0.1"  # the PBX or trunk every customer call goes to
    trunk_port: int = 5060
    transport: Literal["udp", "tcp"] = "udp"
    username: str = ""  # digest auth user for the trunk; empty = no auth
    password: str = ""  # or DIALER_SIP_PASSWORD
    realm: str = "*"
    max_calls: int = 1000  # simultaneous calls, customers plus agent legs
    rtp_port_start: int = 20000  # RTP range is rtp_port_start .. + 2 * max_calls
    ring_timeout_s: float = 17.0  # never under 15 s (47 CFR 64.1200(a)(6))
    codec: Literal["PCMU", "PCMA"] = "PCMU"
    log_level: int = 1  # PJSIP's own log level (0-6), to stderr

    def customer_uri(self, number: str) -> str:
        """The Request-URI for a customer number: sip:NUMBER@HOST:PORT."""
        return f"sip:{number}@{self.trunk_host}:{self.trunk_port}"

    @property
    def rtp_port_range(self) -> tuple[int, int]:
        """RTP+RTCP take two ports per call, so the range scales with capacity."""
        return self.rtp_port_start, self.rtp_port_start + 2 * self.max_calls


class AgentSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str  # stable agent id used in events and the API
    extension: str  # SIP URI of the agent's softphone, e.g. sip:agent1@127.0.0.1:5070
    name: str = ""
    campaigns: list[str] = []  # campaigns this agent works; empty = all
    wrap_up_s: float = 0.0  # automatic after-call work before the agent is Ready again
    # Headless agents (the demo's robots, IVR-style campaigns): every answered
    # call they take is completed with this disposition. Empty = the agent
    # disposes through the agent API.
    auto_disposition: str = ""


class AmdActions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = False  # run answering-machine detection on every answered call
    detector: Literal["dialer", "asterisk"] = "dialer"  # ours, or the app_amd reimplementation
    on_machine: Literal["hangup", "voicemail"] = "hangup"
    voicemail_prompt: str = "voicemail.wav"  # in media/prompts/ unless absolute
    on_fax: Literal["hangup"] = "hangup"
    on_silence: Literal["hangup", "agent"] = "hangup"


class CampaignSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str  # id used in Redis keys and events; letters, digits, - and _
    # preview: agents pull records through the agent API and the dialer dials
    # the one an agent accepts, for that agent (docs/api.md).
    mode: Literal["progressive", "predictive", "power", "preview"] = "progressive"
    autostart: bool = False  # start dialing when the daemon starts (else: dialer campaign start)
    caller_id: str = ""  # From user part / P-Asserted-Identity; empty = node default
    ring_timeout_s: float | None = None  # overrides sip.ring_timeout_s; never under 15 s
    power_ratio: float = 1.5  # lines per ready agent in power mode
    target_abandon_rate: float = 0.025  # predictive target, under the 3 % legal cap
    # IANA zone whose calendar days bound the daily abandon window (Ofcom's 24 h
    # measure in the UK: use Europe/London); the 30-day US window is rolling.
    timezone: str = "UTC"
    # UK: Ofcom counts AMD false positives as abandons; the share of "machine"
    # verdicts that were really people, as measured for your detector.
    amd_false_positive_share: float = 0.0
    safe_harbor_prompt: str = "safe_harbor.wav"  # played when no agent is free in 2 s
    amd: AmdActions = AmdActions()
    # Records, dispositions, retries, calling hours, attempt limits, DNC and
    # callbacks: documented field by field in dialer/campaign/policy.py.
    policy: CampaignPolicy = CampaignPolicy()


class ApiSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True  # the agent API over HTTP (docs/api.md)
    host: str = "127.0.0.1"
    port: int = 8080


class LoggingSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    level: Literal["debug", "info", "warning", "error"] = "info"
    json: bool = True


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    node: NodeSettings = NodeSettings()
    redis: RedisSettings = RedisSettings()
    sip: SipSettings = SipSettings()
    agents: list[AgentSettings] = []
    campaigns: list[CampaignSettings] = []
    api: ApiSettings = ApiSettings()
    logging: LoggingSettings = LoggingSettings()

    def campaign(self, name: str) -> CampaignSettings:
        for c in self.campaigns:
            if c.name == name:
                return c
        raise ConfigError("campaigns", f"no campaign named {name!r}")

    def ring_timeout_for(self, campaign: CampaignSettings) -> float:
        value = campaign.ring_timeout_s if campaign.ring_timeout_s is not None else self.sip.ring_timeout_s
        return max(MIN_RING_TIMEOUT_S, value)


_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _msgspec_path(message: str) -> tuple[str, str]:
    """msgspec says '... - at `$.sip.bind_port`'; turn that into ('sip.bind_port', reason)."""
    match = re.search(r" - at `\$\.?(.*)`$", message)
    if not match:
        return "(root)", message
    path = match.group(1) or "(root)"
    reason = message[: match.start()]
    # Nested validators (CampaignPolicy) say "field.sub: reason": keep the full path.
    inner = re.match(r"^([A-Za-z_][\w.\[\]]*): (.*)$", reason)
    if inner:
        path, reason = f"{path}.{inner.group(1)}", inner.group(2)
    return path, reason


def validate(cfg: Config) -> Config:
    """Checks that span fields or need more than a type; raises ConfigError(field, reason)."""
    if not 1 <= cfg.sip.bind_port <= 65535:
        raise ConfigError("sip.bind_port", "must be 1-65535")
    if not 1 <= cfg.sip.trunk_port <= 65535:
        raise ConfigError("sip.trunk_port", "must be 1-65535")
    if not 1 <= cfg.sip.max_calls <= 100_000:
        raise ConfigError("sip.max_calls", "must be 1-100000")
    if cfg.sip.rtp_port_range[1] > 65535:
        raise ConfigError("sip.rtp_port_start", "rtp_port_start + 2 * max_calls must stay under 65536")
    if cfg.sip.ring_timeout_s < MIN_RING_TIMEOUT_S:
        raise ConfigError("sip.ring_timeout_s", f"must be at least {MIN_RING_TIMEOUT_S:g} s (47 CFR 64.1200(a)(6))")
    if not 0 <= cfg.api.port <= 65535:
        raise ConfigError("api.port", "must be 0-65535 (0 = any free port)")
    if cfg.node.drain_timeout_s < 0:
        raise ConfigError("node.drain_timeout_s", "must not be negative")
    if cfg.node.lease_s <= 0:
        raise ConfigError("node.lease_s", "must be positive")
    seen: set[str] = set()
    for i, agent in enumerate(cfg.agents):
        if agent.id in seen:
            raise ConfigError(f"agents[{i}].id", f"duplicate agent id {agent.id!r}")
        seen.add(agent.id)
        if not agent.extension.startswith(("sip:", "sips:")):
            raise ConfigError(f"agents[{i}].extension", "must be a SIP URI (sip:user@host:port)")
        if agent.wrap_up_s < 0:
            raise ConfigError(f"agents[{i}].wrap_up_s", "must not be negative")
    names: set[str] = set()
    for i, c in enumerate(cfg.campaigns):
        where = f"campaigns[{i}]"
        if not _NAME.match(c.name):
            raise ConfigError(f"{where}.name", "use 1-64 letters, digits, '-' or '_'")
        if c.name in names:
            raise ConfigError(f"{where}.name", f"duplicate campaign {c.name!r}")
        names.add(c.name)
        if c.ring_timeout_s is not None and c.ring_timeout_s < MIN_RING_TIMEOUT_S:
            raise ConfigError(f"{where}.ring_timeout_s", f"must be at least {MIN_RING_TIMEOUT_S:g} s (47 CFR 64.1200(a)(6))")
        if not 0 < c.target_abandon_rate <= 0.03:
            raise ConfigError(f"{where}.target_abandon_rate", "must be in (0, 0.03]: the legal cap is 3 %")
        try:
            zoneinfo.ZoneInfo(c.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}.timezone", f"unknown IANA time zone {c.timezone!r}") from None
        if not 0 <= c.amd_false_positive_share <= 1:
            raise ConfigError(f"{where}.amd_false_positive_share", "must be a fraction 0-1")
        if c.power_ratio < 1:
            raise ConfigError(f"{where}.power_ratio", "must be at least 1 line per agent")
        for a in cfg.agents:
            if a.auto_disposition and c.policy.disposition(a.auto_disposition) is None:
                raise ConfigError(f"{where}.policy.dispositions",
                                  f"agent {a.id} auto_disposition {a.auto_disposition!r} is not defined")
    return cfg


def loads(text: str | bytes, source: str = "<config>") -> Config:
    try:
        cfg = msgspec.toml.decode(text, type=Config)
    except msgspec.ValidationError as exc:
        field, reason = _msgspec_path(str(exc))
        raise ConfigError(field, reason) from None
    except msgspec.DecodeError as exc:
        raise ConfigError("(file)", f"{source} is not valid TOML: {exc}") from None
    return validate(_apply_env(cfg))


def load(path: str | Path) -> Config:
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read {p}: {exc.strerror}") from None
    return loads(text, str(p))


def _apply_env(cfg: Config) -> Config:
    """Secrets and deployment addresses from the environment override the file."""
    changes: dict[str, Any] = {}
    if pw := os.environ.get("DIALER_SIP_PASSWORD"):
        changes["sip"] = msgspec.structs.replace(cfg.sip, password=pw)
    if url := os.environ.get("DIALER_REDIS_URL"):
        changes["redis"] = msgspec.structs.replace(cfg.redis, url=url)
    return msgspec.structs.replace(cfg, **changes) if changes else cfg

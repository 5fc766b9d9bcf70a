"""Config loading: good files load; bad ones raise ConfigError naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer import config
from dialer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_config_loads() -> None:
    cfg = config.load(ROOT / "config" / "dialer.toml")
    assert cfg.sip.ring_timeout_s >= config.MIN_RING_TIMEOUT_S
    assert cfg.campaigns and cfg.agents


def test_defaults() -> None:
    cfg = config.loads("")
    assert cfg.sip.ring_timeout_s == 17.0
    assert cfg.redis.events_stream == "dialer:events"
    assert cfg.sip.rtp_port_range == (20000, 22000)
    assert cfg.sip.customer_uri("+12125550100") == "sip:+12125550100@127.0.0.1:5060"


BAD = [
    ('[sip]\nbind_port = "x"', "sip.bind_port"),
    ("[sip]\nbind_port = 70000", "sip.bind_port"),
    ("[sip]\nring_timeout_s = 10", "sip.ring_timeout_s"),
    ("[sip]\nmax_calls = 30000", "sip.rtp_port_start"),
    ("[sip]\nbogus = 1", "sip"),
    ('[[campaigns]]\nname = "a"\nmode = "turbo"', "campaigns[0].mode"),
    ('[[campaigns]]\nname = "a b"', "campaigns[0].name"),
    ('[[campaigns]]\nname = "a"\nring_timeout_s = 14.9', "campaigns[0].ring_timeout_s"),
    ('[[campaigns]]\nname = "a"\ntarget_abandon_rate = 0.05', "campaigns[0].target_abandon_rate"),
    ('[[campaigns]]\nname = "a"\n[campaigns.policy]\ncalling_hours = "8-21"', "campaigns[0].policy.calling_hours"),
    ('[[campaigns]]\nname = "a"\n[campaigns.policy]\nmax_attempts_per_record = 0', "campaigns[0].policy.max_attempts_per_record"),
    ('[[campaigns]]\nname = "a"\n[[campaigns]]\nname = "a"', "campaigns[1].name"),
    ('[[agents]]\nid = "a"\nextension = "agent1"', "agents[0].extension"),
    ('[[agents]]\nid = "a"\nextension = "sip:a@h"\n[[agents]]\nid = "a"\nextension = "sip:b@h"', "agents[1].id"),
    ("[[agents]]\nextension = \"sip:a@h\"", "agents[0]"),
    ("[node]\nlease_s = 0", "node.lease_s"),
    ('[[campaigns]]\nname = "a"\ntimezone = "Mars/Base"', "campaigns[0].timezone"),
    ('[[campaigns]]\nname = "a"\namd_false_positive_share = 2', "campaigns[0].amd_false_positive_share"),
    ("this is = not toml [", "(file)"),
]


@pytest.mark.parametrize(("text", "field"), BAD)
def test_bad_config_names_the_field(text: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.loads(text)
    assert err.value.field == field, str(err.value)


def test_ring_timeout_never_under_15_s() -> None:
    cfg = config.loads('[[campaigns]]\nname = "a"\nring_timeout_s = 20')
    assert cfg.ring_timeout_for(cfg.campaigns[0]) == 20
    assert cfg.ring_timeout_for(config.CampaignSettings(name="b")) == 17


def test_environment_overrides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALER_SIP_PASSWORD", "s3cret")
    monkeypatch.setenv("DIALER_REDIS_URL", "redis://127.0.0.1:6390/2")
    cfg = config.loads('[sip]\npassword = "file"')
    assert cfg.sip.password == "s3cret"
    assert cfg.redis.url == "redis://127.0.0.1:6390/2"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(tmp_path / "nope.toml")
    assert err.value.field == "(file)"

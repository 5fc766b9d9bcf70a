"""The campaign simulator and ``dialer simulate`` (dialer/pacing/sim.py, simulate.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialer.errors import ConfigError
from dialer.pacing import scenario
from dialer.pacing.sim import parse_pacer, simulate
from dialer.pacing.simulate import main

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = """agents = 20
live_answer_probability = 0.3
machine_share = 0.2
handle_time_mean_s = 120
"""
JSON_KEYS = {"pacer", "occupancy", "agent_wait_s_per_call", "abandon_rate",
             "max_daily_abandon_rate", "connects_per_agent_hour", "dials", "live_answers",
             "abandoned"}


def test_four_keys_are_enough() -> None:
    sc = scenario.loads(MINIMAL)
    assert sc.agents == 20 and sc.hours > 0 and sc.ring_timeout_s >= 15
    assert sc.handle_time.dist == "lognormal" and sc.handle_time.mean_s is None


@pytest.mark.parametrize("path", sorted((ROOT / "config" / "scenarios").glob("*.toml")),
                         ids=lambda p: p.name)
def test_shipped_scenarios_load(path: Path) -> None:
    assert scenario.load(path).agents >= 1


BAD = [
    ("live_answer_probability = 0.3\nmachine_share = 0.2\nhandle_time_mean_s = 120", "agents"),
    (MINIMAL.replace("agents = 20", "agents = 0"), "agents"),
    (MINIMAL.replace("agents = 20", 'agents = "many"'), "agents"),
    (MINIMAL.replace("0.3", "1.3"), "live_answer_probability"),
    (MINIMAL.replace("0.2", "-0.1"), "machine_share"),
    (MINIMAL.replace("0.2", "0.8"), "machine_share"),  # 0.3 + 0.8 > 1
    (MINIMAL.replace("120", "-5"), "handle_time_mean_s"),
    (MINIMAL + "speed = 3\n", "speed"),
    (MINIMAL + "answer_time = { mean_s = -2 }\n", "answer_time.mean_s"),
    (MINIMAL + "answer_time = { cv = -1 }\n", "answer_time.cv"),
    (MINIMAL + "answer_time = { colour = 1 }\n", "answer_time.colour"),
    (MINIMAL + "handle_time = { mean_s = 100 }\n", "handle_time.mean_s"),
    (MINIMAL + 'wrap_up = { dist = "empirical", values_s = [] }\n', "wrap_up.values_s"),
    (MINIMAL + 'wrap_up = { dist = "empirical", values_s = [1, -2] }\n', "wrap_up.values_s"),
    (MINIMAL + "ring_timeout_s = 10\n", "ring_timeout_s"),
    (MINIMAL + "amd_false_positive_rate = 2\n", "amd_false_positive_rate"),
    (MINIMAL + "hours = 0\n", "hours"),
    (MINIMAL + 'shift_start = "9am"\n', "shift_start"),
    (MINIMAL + '[[shifts]]\nstart = "12:00"\nend = "11:00"\n', "shifts[0].end"),
    (MINIMAL + "live_answer_profile = [[9, 4.0]]\n", "live_answer_profile[0]"),
    (MINIMAL + "[pacer]\ntarget_abandon_rate = 0.05\n", "pacer.target_abandon_rate"),
    (MINIMAL + "[pacer]\nratio = 2\n", "pacer.ratio"),
    ("agents = [", "(file)"),
]


@pytest.mark.parametrize(("text", "field"), BAD, ids=[b[1] for b in BAD])
def test_bad_scenario_names_the_field(text: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        scenario.loads(text)
    assert info.value.field == field


def test_cli_prints_the_field_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL.replace("agents = 20", "agents = 0"))
    assert main([str(bad)]) == 2
    assert "'agents'" in capsys.readouterr().err
    good = tmp_path / "good.toml"
    good.write_text(MINIMAL)
    assert main([str(good), "--pacer", "turbo"]) == 2
    assert main([str(tmp_path / "missing.toml")]) == 2


def test_cli_json_one_line_per_pacer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL.replace("agents = 20", "agents = 5"))
    png = tmp_path / "run.png"
    assert main([str(path), "--hours", "0.5", "--json", "--seed", "3", "--plot", str(png)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["pacer"] for r in records] == ["predictive", "progressive", "power", "vicidial"]
    for r in records:
        assert set(r) == JSON_KEYS
        assert 0 <= r["occupancy"] <= 1 and 0 <= r["abandon_rate"] <= 1
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("spec", "mode", "target", "ratio"),
    [("predictive", "predictive", 0.025, 1.5), ("predictive:0.01", "predictive", 0.01, 1.5),
     ("power:2.5", "power", 0.025, 2.5), ("vicidial", "vicidial", 0.025, 1.5)],
)
def test_parse_pacer(spec: str, mode: str, target: float, ratio: float) -> None:
    p = parse_pacer(spec, scenario.loads(MINIMAL))
    assert (p.mode, p.target, p.ratio) == (mode, target, ratio)


@pytest.mark.parametrize("spec", ["turbo", "power:0.5", "predictive:0.2", "vicidial:2", "power:x"])
def test_parse_pacer_rejects(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_pacer(spec, scenario.loads(MINIMAL))


def test_progressive_never_abandons() -> None:
    sc = scenario.loads(MINIMAL + "amd = false\n")
    r = simulate(sc, "progressive", hours=1.0)
    assert r.live_answers > 100 and r.abandoned == 0 and r.abandon_rate == 0.0


def test_same_seed_same_run() -> None:
    sc = scenario.loads(MINIMAL.replace("agents = 20", "agents = 8"))
    a = simulate(sc, "predictive", hours=0.5, seed=7)
    b = simulate(sc, "predictive", hours=0.5, seed=7)
    assert a.summary() == b.summary()


def test_predictive_beats_progressive_on_50_agents() -> None:
    sc = scenario.loads(MINIMAL.replace("agents = 20", "agents = 50"))
    pred = simulate(sc, "predictive", hours=1.0)
    prog = simulate(sc, "progressive", hours=1.0)
    assert pred.occupancy > prog.occupancy + 0.1
    assert pred.abandon_rate <= 0.03
    assert prog.abandoned == 0


def test_multi_day_runs_count_each_day() -> None:
    sc = scenario.loads(MINIMAL.replace("agents = 20", "agents = 3") + "shift_hours = 1\n")
    r = simulate(sc, "power:2", hours=3.0)
    assert [d["date"] for d in r.days] == ["2024-03-04", "2024-03-05", "2024-03-06"]
    assert r.max_daily_abandon_rate == max(d["abandon_rate"] for d in r.days)
    assert sum(d["abandoned"] for d in r.days) == r.abandoned

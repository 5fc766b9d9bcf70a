"""Simulation scenarios: a TOML file, typed and validated (docs/simulate.md).

Only four keys are required (``agents``, ``live_answer_probability``,
``machine_share``, ``handle_time_mean_s``); everything else has a default.
Any problem raises :class:`dialer.errors.ConfigError` naming the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import msgspec

from dialer.errors import ConfigError

# 47 CFR 64.1200(a)(6): let a call ring at least 15 seconds (as dialer.config does).
MIN_RING_TIMEOUT_S = 15.0
DIST_KINDS = ("lognormal", "gamma", "exponential", "fixed", "empirical")


class Dist(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A duration distribution. ``mean_s`` and ``cv`` (sd / mean) for the parametric kinds;
    ``values_s`` (and optional ``weights``) for ``empirical``."""

    dist: Literal["lognormal", "gamma", "exponential", "fixed", "empirical"] | None = None
    mean_s: float | None = None
    cv: float | None = None
    values_s: list[float] | None = None
    weights: list[float] | None = None


class Shift(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    start: str  # "HH:MM", local (UTC in the simulator)
    end: str  # "HH:MM"; after start
    agents: int | None = None  # default: the scenario's ``agents``


class PacerSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    target_abandon_rate: float = 0.025  # predictive target, under the 3 % cap
    power_ratio: float = 1.5  # lines per working agent in power mode


class Scenario(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # ---- required
    agents: int  # agents logged in during the shift
    live_answer_probability: float  # P(a dial is answered by a person)
    machine_share: float  # P(a dial is answered by a machine); the rest do not answer
    handle_time_mean_s: float  # mean talk time with a person (wrap-up is separate)
    # ---- the run
    name: str = ""
    seed: int = 1
    hours: float = 24.0  # working hours to simulate, cut into days of one shift each
    start_date: str = "2024-03-04"  # the first day (UTC)
    shift_start: str = "09:00"
    shift_hours: float = 8.0
    shifts: list[Shift] = []  # instead of shift_start/shift_hours: several shifts a day
    stop_dialing_before_end_s: float = 25.0  # stop dialing this long before close (ring + AMD)
    warmup_hours: float = 0.0  # run a shift this long the day before, then measure from zero
    rules: Literal["US", "UK"] = "US"  # UK also counts AMD false positives as abandoned
    # ---- the lines
    ring_timeout_s: float = 17.0  # >= 15 s, 47 CFR 64.1200(a)(6)
    answer_time: Dist = Dist(dist="lognormal", mean_s=8.0, cv=0.5)  # dial -> a person answers
    machine_answer_time: Dist = Dist(dist="lognormal", mean_s=12.0, cv=0.3)
    no_answer_time: Dist = Dist(dist="lognormal", mean_s=30.0, cv=0.6)  # cut at the ring timeout
    live_answer_profile: list[list[float]] = []  # [[hour, multiplier], ...], piecewise linear
    max_lines: int = 0  # trunk limit on lines in progress; 0 = none
    # ---- AMD
    amd: bool = True
    amd_delay: Dist = Dist(dist="lognormal", mean_s=1.6, cv=0.35)  # answer -> "human"
    amd_machine_delay: Dist = Dist(dist="lognormal", mean_s=3.0, cv=0.3)  # answer -> "machine"
    amd_false_positive_rate: float = 0.03  # P(a person is called a machine)
    amd_false_negative_rate: float = 0.08  # P(a machine is called a person -> agent)
    # ---- agents
    handle_time: Dist = Dist(dist="lognormal", cv=0.8)  # its mean is handle_time_mean_s
    wrap_up: Dist = Dist(dist="fixed", mean_s=10.0)  # after-call work, like agents[].wrap_up_s
    machine_talk: Dist = Dist(dist="lognormal", mean_s=8.0, cv=0.4)  # agent time on a machine
    # ---- the pacer
    pacer: PacerSettings = PacerSettings()


_DEFAULTS = Scenario(agents=1, live_answer_probability=0.1, machine_share=0.1, handle_time_mean_s=1)
DIST_FIELDS = ("answer_time", "machine_answer_time", "no_answer_time", "amd_delay",
               "amd_machine_delay", "handle_time", "wrap_up", "machine_talk")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _fill(name: str, given: Dist) -> Dist:
    """A distribution with the unset parts taken from the field's default."""
    default: Dist = getattr(_DEFAULTS, name)
    kind = given.dist or ("empirical" if given.values_s is not None else default.dist)
    if kind == "empirical":
        return Dist(dist="empirical", values_s=given.values_s, weights=given.weights)
    if kind in ("fixed", "exponential"):
        cv = given.cv if given.cv is not None else (0.0 if kind == "fixed" else 1.0)
        mean = given.mean_s if given.mean_s is not None else default.mean_s
        return Dist(dist=kind, mean_s=mean, cv=cv)
    return Dist(
        dist=kind,
        mean_s=given.mean_s if given.mean_s is not None else default.mean_s,
        cv=given.cv if given.cv is not None else default.cv,
    )


def _check_dist(name: str, d: Dist, *, mean_from: str | None = None) -> None:
    if d.dist == "empirical":
        if not d.values_s:
            raise ConfigError(f"{name}.values_s", "an empirical distribution needs values_s")
        if any(v < 0 for v in d.values_s):
            raise ConfigError(f"{name}.values_s", "durations must not be negative")
        if sum(d.values_s) <= 0:
            raise ConfigError(f"{name}.values_s", "needs at least one positive duration")
        if d.weights is not None:
            if len(d.weights) != len(d.values_s):
                raise ConfigError(f"{name}.weights", "needs one weight per value")
            if any(w < 0 for w in d.weights) or sum(d.weights) <= 0:
                raise ConfigError(f"{name}.weights", "weights must be >= 0 with a positive sum")
        return
    if d.values_s is not None or d.weights is not None:
        raise ConfigError(f"{name}.values_s", f"only for dist = \"empirical\", not {d.dist!r}")
    if mean_from is not None and d.mean_s is not None:
        raise ConfigError(f"{name}.mean_s", f"the mean comes from {mean_from}")
    if mean_from is None and (d.mean_s is None or d.mean_s < 0
                              or (d.mean_s == 0 and d.dist != "fixed")):
        raise ConfigError(f"{name}.mean_s", "must be a positive number of seconds "
                                            "(0 only for dist = \"fixed\")")
    if d.dist == "exponential":
        if d.cv != 1.0:
            raise ConfigError(f"{name}.cv", "an exponential distribution has cv = 1")
    elif d.dist == "fixed":
        if d.cv != 0.0:
            raise ConfigError(f"{name}.cv", "a fixed duration has cv = 0")
    elif d.cv is None or d.cv < 0 or d.cv > 10:
        raise ConfigError(f"{name}.cv", "must be between 0 and 10")


def _check_hhmm(field: str, value: str) -> int:
    m = _HHMM.match(value)
    if not m:
        raise ConfigError(field, "use HH:MM, e.g. 09:00")
    return int(m.group(1)) * 60 + int(m.group(2))


def validate(sc: Scenario) -> Scenario:
    """Range checks that a type cannot express; returns the scenario with defaults filled in."""
    if sc.agents < 1:
        raise ConfigError("agents", "must be at least 1")
    for field in ("live_answer_probability", "machine_share", "amd_false_positive_rate",
                  "amd_false_negative_rate"):
        value = getattr(sc, field)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(field, "is a probability: must be between 0 and 1")
    if sc.live_answer_probability <= 0:
        raise ConfigError("live_answer_probability", "must be above 0: nobody would ever answer")
    if sc.live_answer_probability + sc.machine_share > 1.0 + 1e-12:
        raise ConfigError("machine_share", "live_answer_probability + machine_share must not exceed 1")
    if not sc.handle_time_mean_s > 0:
        raise ConfigError("handle_time_mean_s", "must be a positive number of seconds")
    if not sc.hours > 0:
        raise ConfigError("hours", "must be positive")
    if not 0 < sc.shift_hours <= 24:
        raise ConfigError("shift_hours", "must be in (0, 24]")
    _check_hhmm("shift_start", sc.shift_start)
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", sc.start_date):
        raise ConfigError("start_date", "use YYYY-MM-DD")
    for i, shift in enumerate(sc.shifts):
        a = _check_hhmm(f"shifts[{i}].start", shift.start)
        b = _check_hhmm(f"shifts[{i}].end", shift.end)
        if b <= a:
            raise ConfigError(f"shifts[{i}].end", "must be after start (same day)")
        if shift.agents is not None and shift.agents < 1:
            raise ConfigError(f"shifts[{i}].agents", "must be at least 1")
    if sc.warmup_hours < 0:
        raise ConfigError("warmup_hours", "must not be negative")
    if sc.stop_dialing_before_end_s < 0:
        raise ConfigError("stop_dialing_before_end_s", "must not be negative")
    if sc.ring_timeout_s < MIN_RING_TIMEOUT_S:
        raise ConfigError("ring_timeout_s",
                          f"must be at least {MIN_RING_TIMEOUT_S:g} s (47 CFR 64.1200(a)(6))")
    if sc.max_lines < 0:
        raise ConfigError("max_lines", "must not be negative (0 = no limit)")
    for i, point in enumerate(sc.live_answer_profile):
        if len(point) != 2:
            raise ConfigError(f"live_answer_profile[{i}]", "use [hour, multiplier]")
        hour, mult = point
        if not 0 <= hour <= 24:
            raise ConfigError(f"live_answer_profile[{i}]", "hour must be 0-24")
        if mult < 0:
            raise ConfigError(f"live_answer_profile[{i}]", "multiplier must not be negative")
        if sc.live_answer_probability * mult + sc.machine_share > 1.0 + 1e-12:
            raise ConfigError(f"live_answer_profile[{i}]",
                              "live_answer_probability x multiplier + machine_share exceeds 1")
    if [p[0] for p in sc.live_answer_profile] != sorted(p[0] for p in sc.live_answer_profile):
        raise ConfigError("live_answer_profile", "hours must increase")
    if not 0 < sc.pacer.target_abandon_rate <= 0.03:
        raise ConfigError("pacer.target_abandon_rate", "must be in (0, 0.03]: the legal cap is 3 %")
    if sc.pacer.power_ratio < 1:
        raise ConfigError("pacer.power_ratio", "must be at least 1 line per agent")
    filled = {name: _fill(name, getattr(sc, name)) for name in DIST_FIELDS}
    for name, d in filled.items():
        _check_dist(name, d, mean_from="handle_time_mean_s" if name == "handle_time" else None)
    return msgspec.structs.replace(sc, **filled)


def _error_field(message: str) -> tuple[str, str]:
    """msgspec: 'Expected `int`, got `str` - at `$.agents`' -> ('agents', 'Expected ...')."""
    reason, _, where = message.partition(" - at `")
    path = where.rstrip("`").removeprefix("$").lstrip(".") if where else ""
    missing = re.search(r"missing required field `([^`]+)`", reason)
    unknown = re.search(r"unknown field `([^`]+)`", reason)
    name = missing or unknown
    if name:
        path = f"{path}.{name.group(1)}" if path else name.group(1)
        if unknown:
            reason = "unknown key (see docs/simulate.md)"
        else:
            reason = "is required"
    path = re.sub(r"\.\[", "[", path)
    return path or "(file)", reason


def loads(text: str | bytes, source: str = "<scenario>") -> Scenario:
    try:
        sc = msgspec.toml.decode(text, type=Scenario)
    except msgspec.ValidationError as exc:
        field, reason = _error_field(str(exc))
        raise ConfigError(field, reason) from None
    except msgspec.DecodeError as exc:
        raise ConfigError("(file)", f"{source} is not valid TOML: {exc}") from None
    return validate(sc)


def load(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read {p}: {exc.strerror}") from None
    sc = loads(text, str(p))
    return sc if sc.name else msgspec.structs.replace(sc, name=p.stem)

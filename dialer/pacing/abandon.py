"""What counts as an abandoned call, and the windows that count them.

This module is the one place that defines "abandoned"; everything else in the
dialer (the pacer, the simulator, reports) asks it.

The rules:

- US, FTC Telemarketing Sales Rule, 16 CFR 310.4(b)(1)(iv): a seller or
  telemarketer *abandons* an outbound call if "the person answering is not
  connected to a sales representative within two (2) seconds of the completed
  greeting of the person answering". The safe harbor, 16 CFR 310.4(b)(4)(i),
  allows no more than 3 % of calls answered by a person, measured per campaign
  over each successive 30-day period (or the campaign, if shorter).
- US, FCC, 47 CFR 64.1200(a)(7): the same 2-second rule and "no more than
  three percent of all telemarketing calls that are answered live by a person
  ... as measured over a 30-day period for a single calling campaign".
- UK, Ofcom's persistent-misuse policy (Statement of 1 Oct 2016, section A1):
  no more than 3 % of *live* calls per campaign over 24 hours, and calls that
  answering-machine detection wrongly classed as machines (AMD false
  positives) count as abandoned; a dialer that cannot observe them must use a
  reasoned estimate.

The denominator is always calls answered by a live person. Machines, no
answers, busies and failures are in neither count.

Accumulators count floats, not ints, so that a UK campaign can add its
*estimated* AMD false positives (``fp_rate`` per machine verdict) as fractions.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

# 16 CFR 310.4(b)(1)(iv) and 47 CFR 64.1200(a)(7): two seconds from the
# completed greeting of the person answering to a live representative.
GRACE_S = 2.0
# 16 CFR 310.4(b)(4)(i), 47 CFR 64.1200(a)(7), Ofcom 2016 statement: 3 % of live answers.
LEGAL_CAP = 0.03
# 47 CFR 64.1200(a)(7): "as measured over a 30-day period for a single calling campaign".
ROLLING_DAYS = 30

Rules = Literal["US", "UK"]
RULES: tuple[str, ...] = ("US", "UK")


def is_abandoned(
    connected_after_s: float | None,
    *,
    hung_up_after_s: float | None = None,
    amd_false_positive: bool = False,
    rules: Rules = "US",
) -> bool:
    """Is one *live* answer abandoned?

    ``connected_after_s`` is the time from the completed greeting to the bridge
    with an agent (``None``: never bridged). The completed greeting is the
    moment the dialer knows it has a person: the AMD "human" verdict, or the
    answer itself when AMD is off.

    ``hung_up_after_s``: the person hung up while waiting, this long after the
    greeting. Hanging up before the 2 seconds ran out is not the dialer's
    failure to connect, so it is a live answer but not an abandon.

    ``amd_false_positive``: AMD classed this person as a machine and the dialer
    hung up (or played the voicemail message). Ofcom counts it; the US rules
    measure the 2-second rule on calls the dialer knows are live, so it does
    not count there.
    """
    if amd_false_positive:
        return rules == "UK"
    if connected_after_s is not None:
        return connected_after_s > GRACE_S
    if hung_up_after_s is not None and hung_up_after_s <= GRACE_S:
        return False
    return True


@dataclass
class Tally:
    """Live answers and abandons in one window."""

    live: float = 0.0
    abandoned: float = 0.0

    @property
    def rate(self) -> float:
        return self.abandoned / self.live if self.live > 0 else 0.0

    def headroom(self, limit: float) -> float:
        """Abandons still allowed in this window before its rate passes ``limit``."""
        return limit * self.live - self.abandoned


class AbandonLedger:
    """Abandon accumulators of one campaign.

    Windows:
      - ``rolling_30d``: the last 30 calendar days including today (daily
        buckets), the US measure;
      - ``day``: the current calendar day in ``timezone``, the UK measure;
      - ``short``: exponentially decayed over about ``short_lives`` live
        answers, for the pacer's feedback;
      - ``total``: since the ledger was created.

    Serialise with :meth:`to_dict` / :meth:`from_dict` (plain JSON types) so the
    daemon can keep the 30-day window in Redis across restarts.
    """

    def __init__(self, timezone: str = "UTC", short_lives: float = 400.0) -> None:
        if short_lives <= 0:
            raise ValueError("short_lives must be positive")
        self.timezone = timezone
        self._zone = ZoneInfo(timezone)
        self.short_lives = short_lives
        self._days: dict[int, Tally] = {}  # proleptic ordinal of the local date -> tally
        self.total = Tally()
        self._short_live = 0.0
        self._short_abandoned = 0.0
        self._last_ordinal: int | None = None
        self._last_now = -math.inf
        self.version = 0  # bumped on every record, so readers can cache
        self._typical_cache: tuple[tuple[int, int, int], float] = ((0, 0, 0), 0.0)
        self._ordinal_cache: tuple[float, float, int] = (math.inf, -math.inf, 0)

    # ------------------------------------------------------------ recording

    def day_ordinal(self, now: float) -> int:
        """The local calendar date of ``now`` (epoch seconds) as an ordinal."""
        lo, hi, ordinal = self._ordinal_cache
        if lo <= now < hi:
            return ordinal
        local = dt.datetime.fromtimestamp(now, self._zone)
        ordinal = local.date().toordinal()
        # Cache until the next local midnight (or the next hour, to be safe around DST).
        start = now - (local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6)
        self._ordinal_cache = (max(start, now - 3600.0), now + min(3600.0, start + 86400.0 - now), ordinal)
        return ordinal

    def _bucket(self, now: float) -> Tally:
        ordinal = self.day_ordinal(now)
        tally = self._days.get(ordinal)
        if tally is None:
            tally = self._days[ordinal] = Tally()
            # Keep only what the rolling window can still see.
            for old in [d for d in self._days if d <= ordinal - ROLLING_DAYS]:
                del self._days[old]
        self._last_ordinal = max(ordinal, self._last_ordinal or ordinal)
        return tally

    def record(self, now: float, *, live: float = 1.0, abandoned: float = 0.0) -> None:
        """Count ``live`` live answers of which ``abandoned`` were abandoned."""
        if live < 0 or abandoned < 0:
            raise ValueError("counts must not be negative")
        bucket = self._bucket(now)
        bucket.live += live
        bucket.abandoned += abandoned
        self.total.live += live
        self.total.abandoned += abandoned
        # Short window: each live answer decays the past by 1 - 1/short_lives.
        keep = (1.0 - 1.0 / self.short_lives) ** live if live > 0 else 1.0
        self._short_live = self._short_live * keep + live
        self._short_abandoned = self._short_abandoned * keep + abandoned
        self._last_now = max(self._last_now, now)
        self.version += 1

    def record_live_answer(self, now: float, abandoned: bool) -> None:
        self.record(now, live=1.0, abandoned=1.0 if abandoned else 0.0)

    # ------------------------------------------------------------ windows

    def day(self, now: float) -> Tally:
        t = self._days.get(self.day_ordinal(now))
        return Tally(t.live, t.abandoned) if t else Tally()

    def rolling_30d(self, now: float) -> Tally:
        today = self.day_ordinal(now)
        out = Tally()
        for ordinal, t in self._days.items():
            if today - ROLLING_DAYS < ordinal <= today:
                out.live += t.live
                out.abandoned += t.abandoned
        return out

    def short(self) -> Tally:
        return Tally(self._short_live, self._short_abandoned)

    def typical_day_live(self, now: float, days: int = 7) -> float:
        """The median live-answer count of the last ``days`` days before today (0 if none)."""
        today = self.day_ordinal(now)
        key = (today, days, len(self._days))
        if self._typical_cache[0] == key:
            return self._typical_cache[1]
        past = sorted(t.live for o, t in self._days.items() if today - days <= o < today and t.live > 0)
        mid = len(past) // 2
        if not past:
            value = 0.0
        else:
            value = past[mid] if len(past) % 2 else (past[mid - 1] + past[mid]) / 2.0
        self._typical_cache = (key, value)
        return value

    def days(self) -> dict[dt.date, Tally]:
        """Every calendar day still held (up to 30), oldest first."""
        return {
            dt.date.fromordinal(o): Tally(t.live, t.abandoned) for o, t in sorted(self._days.items())
        }

    # ------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "timezone": self.timezone,
            "short_lives": self.short_lives,
            "days": {
                dt.date.fromordinal(o).isoformat(): [t.live, t.abandoned]
                for o, t in sorted(self._days.items())
            },
            "total": [self.total.live, self.total.abandoned],
            "short": [self._short_live, self._short_abandoned],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AbandonLedger:
        if data.get("version") != 1:
            raise ValueError(f"unknown abandon ledger version {data.get('version')!r}")
        ledger = cls(str(data["timezone"]), float(data["short_lives"]))
        for day, (live, abandoned) in dict(data["days"]).items():
            ordinal = dt.date.fromisoformat(day).toordinal()
            ledger._days[ordinal] = Tally(float(live), float(abandoned))
        live, abandoned = data["total"]
        ledger.total = Tally(float(live), float(abandoned))
        ledger._short_live, ledger._short_abandoned = (float(x) for x in data["short"])
        if ledger._days:
            ledger._last_ordinal = max(ledger._days)
        return ledger

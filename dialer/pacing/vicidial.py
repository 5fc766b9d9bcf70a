"""A reimplementation of VICIdial's adaptive dial level, for comparison only.

Written from VICIdial's documented behaviour (the campaign screen's help for
"Dial Method: ADAPT_TAPERED" and the adaptive settings, and the behaviour of
its AST_VDadapt / AST_VDauto_dial processes), with VICIdial's default settings:

- every second, sample the Ready agents, the calls waiting for an agent and the
  logged-in agents; keep the last 15 samples;
- every 15 seconds compute a new dial level::

      differential = avg(ready) - avg(waiting)        (+ dl_diff_target = 0)
      level       *= 1 + differential / avg(agents)   (intensity 0)

  then clamp it to [1.0, adaptive_maximum_level = 3.0];
- drop-percentage overrides: if more than 20 calls were placed in the last
  minute and over 50 % of them dropped, halve the level; if more than 50 calls
  were placed today and today's drops exceed ``adaptive_dropped_percentage``
  (3 %) of today's live answers, ADAPT_TAPERED multiplies the level by
  ``(latest_server_time - HHMM) / 1000`` once it is within ten "hours" of
  ``adaptive_latest_server_time`` (21:00), and sets 1.0 after it. The HHMM
  arithmetic is VICIdial's (14:30 is 1430). The level never goes under 1.0.

The dial loop then keeps ``round(level * (ready + talking agents))`` lines up,
counting calls already bridged to agents, and places the difference. VICIdial
runs that loop every 2.5 s; here it runs whenever the controller decides, which
can only help it.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from zoneinfo import ZoneInfo

SAMPLE_S = 1.0
SAMPLES = 15
UPDATE_S = 15.0
MAX_LEVEL = 3.0
MIN_LEVEL = 1.0
DROPPED_PERCENTAGE = 3.0
LATEST_SERVER_TIME = 2100


class VicidialAdaptive:
    """ADAPT_TAPERED with VICIdial's defaults; drive with :meth:`observe` and :meth:`lines`."""

    def __init__(self, timezone: str = "UTC", initial_level: float = 1.0) -> None:
        self.level = initial_level
        self._zone = ZoneInfo(timezone)
        self._ready: deque[int] = deque(maxlen=SAMPLES)
        self._waiting: deque[int] = deque(maxlen=SAMPLES)
        self._agents: deque[int] = deque(maxlen=SAMPLES)
        self._next_sample: float | None = None
        self._next_update: float | None = None
        self._dials: deque[float] = deque()  # dial times in the last minute
        self._drops: deque[float] = deque()  # drop times in the last minute
        self._day: int | None = None
        self.dials_today = 0
        self.live_today = 0
        self.drops_today = 0

    # ------------------------------------------------------------ inputs

    def _roll_day(self, now: float) -> None:
        day = dt.datetime.fromtimestamp(now, self._zone).date().toordinal()
        if day != self._day:
            self._day = day
            self.dials_today = self.live_today = self.drops_today = 0

    def dialed(self, now: float) -> None:
        self._roll_day(now)
        self._dials.append(now)
        self.dials_today += 1

    def live_answer(self, now: float, dropped: bool) -> None:
        self._roll_day(now)
        self.live_today += 1
        if dropped:
            self.drops_today += 1
            self._drops.append(now)

    def observe(self, now: float, *, ready: int, waiting: int, agents: int) -> None:
        """Take the once-a-second samples and the 15-second level updates that are due."""
        if self._next_sample is None:
            self._next_sample = now
            self._next_update = now + UPDATE_S
        while self._next_sample <= now:
            self._ready.append(ready)
            self._waiting.append(waiting)
            self._agents.append(agents)
            self._next_sample += SAMPLE_S
        assert self._next_update is not None
        if now >= self._next_update:
            self._update(now)
            # Skip updates missed while nothing drove us (nights, idle campaigns).
            while self._next_update <= now:
                self._next_update += UPDATE_S

    # ------------------------------------------------------------ the level

    def _update(self, now: float) -> None:
        if not self._agents:
            return
        n = len(self._agents)
        agents_avg = sum(self._agents) / n
        differential = sum(self._ready) / n - sum(self._waiting) / n
        level = self.level
        if differential != 0 and agents_avg != 0:
            level = level * (1.0 + differential / agents_avg)
        level = min(max(level, MIN_LEVEL), MAX_LEVEL)
        while self._dials and self._dials[0] <= now - 60.0:
            self._dials.popleft()
        while self._drops and self._drops[0] <= now - 60.0:
            self._drops.popleft()
        if len(self._dials) > 20 and 100.0 * len(self._drops) / len(self._dials) > 50.0:
            level /= 2.0
        self._roll_day(now)
        answers = max(self.live_today, 1)
        if self.dials_today > 50 and 100.0 * self.drops_today / answers > DROPPED_PERCENTAGE:
            local = dt.datetime.fromtimestamp(now, self._zone)
            hours_left = LATEST_SERVER_TIME - (local.hour * 100 + local.minute)
            if hours_left < 0:
                level = 1.0
            else:
                level *= 1.0 if hours_left > 1000 else hours_left / 1000.0
        self.level = max(level, MIN_LEVEL)

    def lines(self, *, ready: int, talking: int, in_progress: int) -> int:
        """New dials: keep level x (ready + talking) lines, bridged calls included."""
        goal = round(self.level * (ready + talking))
        return max(0, goal - (in_progress + talking))

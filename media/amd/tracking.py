"""Frame-by-frame state shared by the AMD and beep decisions: voice activity and tones.

:class:`Tracker` consumes :data:`media.amd.features.FrameFeature` values
(energy in dB, tone frequency or 0) stamped with their receive time and keeps
the few numbers both decisions read: when voice started, when it was last
heard, how much of it there was, and the current run of steady tone.

Voice activity is energy against an adaptive noise floor with hysteresis; a
burst must last ``onset_frames`` to count (clicks and knocks don't). A *tone*
is a run of tonal frames whose frequency stays within ``tone_tolerance`` of
the run's first frame and whose energy stays within ``tone_energy_range_db``:
synthetic and real vowels can be as tonal as a beep for a frame or five, but
not that steady for ``tone_min_frames`` (measured on the tune corpus, see
docs/amd.md). Once confirmed, a tone lasts until a frame is not tonal, moves
off frequency or drops ``tone_drop_db`` below the run's peak.
"""

from __future__ import annotations

import msgspec

from media.amd.types import FRAME_MS


class TrackerParams(msgspec.Struct, frozen=True, kw_only=True):
    """Voice-activity and tone-run parameters (dB are re 1 LSB², see features.py)."""

    on_db: float = 12.0  # a burst starts this far above the noise floor ...
    off_db: float = 6.0  # ... and continues while this far above it
    abs_on_db: float = 40.0  # never below -50 dBFS for a start
    abs_off_db: float = 35.0
    floor_rise_db_per_s: float = 3.0  # noise floor: follows minima at once, rises slowly
    onset_frames: int = 3  # 60 ms of activity make a burst voice
    tone_tolerance: float = 0.01  # relative frequency deviation inside a tone run
    tone_energy_range_db: float = 3.0  # energy spread allowed while a run is unconfirmed
    tone_min_frames: int = 7  # 140 ms of steady tone confirm a tone
    tone_drop_db: float = 9.0  # a confirmed tone ends when energy falls this far


class Tracker:
    """Voice activity and steady-tone runs, updated once per frame."""

    def __init__(self, params: TrackerParams | None = None) -> None:
        p = self.params = params or TrackerParams()
        self._rise = p.floor_rise_db_per_s * FRAME_MS / 1000.0
        self.floor_db: float | None = None
        self.active = False
        self.run = 0  # consecutive active frames
        self.first_voice_ms: int | None = None  # start of the first confirmed burst
        self.last_voice_ms = 0  # receive time of the last voiced frame
        self.voice_ms = 0  # total voiced time
        # tone run
        self.tone_frames = 0
        self.tone_hz = 0.0
        self.tone_start_ms = 0
        self.tone_voice_ms = 0  # voice_ms when the run started (voice heard before it)
        self._tone_emin = 0.0
        self._tone_emax = 0.0
        # a confirmed tone that has just ended (set for one frame)
        self.ended_tone_hz = 0.0
        self.ended_tone_frames = 0

    @property
    def tone_confirmed(self) -> bool:
        return self.tone_frames >= self.params.tone_min_frames

    def step(self, energy_db: float, tone_hz: float, t_ms: int) -> None:
        p = self.params
        floor = self.floor_db
        if floor is None or energy_db < floor:
            floor = energy_db
        else:
            floor += self._rise
        self.floor_db = floor

        if self.active:
            active = energy_db > max(floor + p.off_db, p.abs_off_db)
        else:
            active = energy_db > max(floor + p.on_db, p.abs_on_db)
        self.active = active
        if active:
            self.run += 1
            if self.run > p.onset_frames:
                self.voice_ms += FRAME_MS
                self.last_voice_ms = t_ms
            elif self.run == p.onset_frames:
                if self.first_voice_ms is None:
                    self.first_voice_ms = t_ms - p.onset_frames * FRAME_MS
                self.voice_ms += p.onset_frames * FRAME_MS
                self.last_voice_ms = t_ms
        else:
            self.run = 0

        self._step_tone(energy_db, tone_hz, t_ms)

    def _step_tone(self, energy_db: float, tone_hz: float, t_ms: int) -> None:
        p = self.params
        self.ended_tone_frames = 0
        n = self.tone_frames
        if n:
            ref = self.tone_hz
            same = tone_hz > 0.0 and abs(tone_hz - ref) <= p.tone_tolerance * ref
            if same:
                if n >= p.tone_min_frames:
                    same = energy_db > self._tone_emax - p.tone_drop_db
                else:
                    lo = min(self._tone_emin, energy_db)
                    hi = max(self._tone_emax, energy_db)
                    same = hi - lo <= p.tone_energy_range_db
            if same:
                self.tone_frames = n + 1
                if energy_db < self._tone_emin:
                    self._tone_emin = energy_db
                if energy_db > self._tone_emax:
                    self._tone_emax = energy_db
                return
            if n >= p.tone_min_frames:
                self.ended_tone_hz = ref
                self.ended_tone_frames = n
            self.tone_frames = 0
        if tone_hz > 0.0:
            self.tone_frames = 1
            self.tone_hz = tone_hz
            self.tone_start_ms = t_ms - FRAME_MS
            # voice counted before this run: the run's own frames may have counted as voice
            self.tone_voice_ms = self.voice_ms - (FRAME_MS if self.run > 0 else 0)
            self._tone_emin = self._tone_emax = energy_db

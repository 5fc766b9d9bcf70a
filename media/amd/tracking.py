"""Frame-by-frame state shared by the AMD and beep decisions: voice activity and tones.

:class:`Tracker` consumes :data:`media.amd.features.FrameFeature` values
(energy in dB, tone frequency or 0) stamped with their receive time and keeps
the few numbers both decisions read: when voice started, when it was last
heard, how much of it there was, and the current run of steady tone.

Voice activity is energy against an adaptive noise floor with hysteresis; a
burst must last ``onset_frames`` to count (clicks and knocks don't). A *tone*
is a run of tonal frames whose frequency stays within ``tone_tolerance`` of
the run's mean and whose energy stays within ``tone_energy_range_db``:
synthetic and real vowels can be as tonal as a beep for a frame or five, but
not that steady for ``tone_min_frames`` (measured on the tune corpus, see
docs/amd.md). A vowel is glued to the speech around it while a beep follows a
gap, so a run that starts straight out of voice must last
``tone_glued_min_frames`` instead. Once confirmed, a tone lasts until a frame is not tonal, moves
off frequency by more than ``tone_tolerance * tone_confirmed_slack`` or drops
``tone_drop_db`` below the run's peak.
"""

from __future__ import annotations

import msgspec

from media.amd.features import FrameFeature
from media.amd.types import FRAME_MS


class TrackerParams(msgspec.Struct, frozen=True, kw_only=True):
    """Voice-activity and tone-run parameters (dB are re 1 LSB², see features.py)."""

    on_db: float = 12.0  # a burst starts this far above the noise floor ...
    off_db: float = 6.0  # ... and continues while this far above it
    abs_on_db: float = 40.0  # never below -50 dBFS for a start
    abs_off_db: float = 35.0
    floor_rise_db_per_s: float = 3.0  # noise floor: follows minima at once, rises slowly
    onset_frames: int = 3  # 60 ms of activity make a burst voice
    tone_tolerance: float = 0.01  # relative deviation from the run's mean frequency ...
    tone_confirmed_slack: float = 3.0  # ... multiplied by this once the tone is confirmed
    tone_energy_range_db: float = 0.6  # energy spread allowed while a run is unconfirmed
    tone_min_frames: int = 8  # 160 ms of steady tone confirm a tone after a quiet gap ...
    tone_glued_min_frames: int = 14  # ... 280 ms when it starts straight out of voice
    tone_drop_db: float = 9.0  # a confirmed tone ends when energy falls this far
    tone_end_frames: int = 2  # a beep must fall quiet within this many frames of its end ...
    tone_end_drop_db: float = 15.0  # ... and this far below its peak (vowels run on)


class Tracker:
    """Voice activity and steady-tone runs, updated a block of frames at a time.

    Decisions read the public attributes after :meth:`step_block`. Events that
    can start and finish inside one block are latched with counters:
    ``tones_confirmed`` / ``confirmed_hz`` / ``confirmed_voice_ms`` (voice heard
    before the tone) and ``tones_ended`` / ``ended_hz`` / ``ended_ms`` /
    ``ended_voice_ms``: a confirmed tone that ended *cleanly* — within
    ``tone_end_frames`` the line is quiet again, ``tone_end_drop_db`` below the
    tone — and the receive time of that first quiet frame. A beep ends like
    that; a steady vowel runs on into the next sound.
    """

    def __init__(self, params: TrackerParams | None = None) -> None:
        p = self.params = params or TrackerParams()
        self._rise = p.floor_rise_db_per_s * FRAME_MS / 1000.0
        self.floor_db: float | None = None
        self.active = False
        self.run = 0  # consecutive active frames
        self.first_voice_ms: int | None = None  # start of the first confirmed burst
        self.last_voice_ms = 0  # receive time of the last voiced frame
        self.voice_ms = 0  # total voiced time
        # the current tone run
        self.tone_frames = 0
        self.tone_hz = 0.0  # running mean frequency of the run
        self._tone_sum = 0.0
        self._tone_voice_ms = 0
        self._tone_emin = 0.0
        self._tone_emax = 0.0
        self._tone_needed = p.tone_min_frames
        self._since_quiet = 0  # active frames since the last inactive one (this one included)
        self._end_wait = 0  # frames left for a confirmed tone's end to fall quiet
        self._end_hz = 0.0
        self._end_peak = 0.0
        self._end_voice_ms = 0
        # latched tone events
        self.tones_confirmed = 0
        self.confirmed_hz = 0.0
        self.confirmed_voice_ms = 0
        self.tones_ended = 0
        self.ended_hz = 0.0
        self.ended_ms = 0
        self.ended_voice_ms = 0

    @property
    def tone_confirmed(self) -> bool:
        return self.tone_frames >= self._tone_needed

    @property
    def tone_ending(self) -> bool:
        """A confirmed tone has stopped and the next frames tell whether it ended cleanly."""
        return self._end_wait > 0

    def step_block(self, feats: list[FrameFeature], now_ms: int) -> None:
        """Advance over a block whose last frame was received at ``now_ms``.

        The same as :meth:`step` per frame, with the state in locals: this loop
        runs for every frame of every call in the AMD phase.
        """
        p = self.params
        rise, on_db, off_db = self._rise, p.on_db, p.off_db
        abs_on, abs_off, onset = p.abs_on_db, p.abs_off_db, p.onset_frames
        floor = self.floor_db
        active = self.active
        run = self.run
        since_quiet = self._since_quiet
        voice_ms = self.voice_ms
        last_voice = self.last_voice_ms
        t = now_ms - (len(feats) - 1) * FRAME_MS
        for energy_db, tone_hz in feats:
            if floor is None or energy_db < floor:
                floor = energy_db
            else:
                floor += rise
            if active:
                active = energy_db > floor + off_db and energy_db > abs_off
            else:
                active = energy_db > floor + on_db and energy_db > abs_on
            if active:
                since_quiet += 1
                run += 1
                if run > onset:
                    voice_ms += FRAME_MS
                    last_voice = t
                elif run == onset:
                    if self.first_voice_ms is None:
                        self.first_voice_ms = t - onset * FRAME_MS
                    voice_ms += onset * FRAME_MS
                    last_voice = t
            else:
                run = 0
                since_quiet = 0
            if tone_hz > 0.0 or self.tone_frames or self._end_wait:
                # the tone step reads the voice state: write it back first
                self.run, self.active, self._since_quiet = run, active, since_quiet
                self.voice_ms, self.last_voice_ms = voice_ms, last_voice
                self._step_tone(energy_db, tone_hz, t)
            t += FRAME_MS
        self.floor_db = floor
        self.active = active
        self.run = run
        self._since_quiet = since_quiet
        self.voice_ms = voice_ms
        self.last_voice_ms = last_voice

    def step(self, energy_db: float, tone_hz: float, t_ms: int) -> None:
        """Advance over one frame received at ``t_ms``."""
        self.step_block([(energy_db, tone_hz)], t_ms)

    def _step_tone(self, energy_db: float, tone_hz: float, t_ms: int) -> None:
        p = self.params
        if self._end_wait:
            self._end_wait -= 1
            if not self.active and energy_db < self._end_peak - p.tone_end_drop_db:
                self._end_wait = 0
                self.tones_ended += 1
                self.ended_hz = self._end_hz
                self.ended_ms = t_ms
                self.ended_voice_ms = self._end_voice_ms
        n = self.tone_frames
        if n:
            ref = self.tone_hz
            confirmed = n >= self._tone_needed
            tol = p.tone_tolerance * (p.tone_confirmed_slack if confirmed else 1.0)
            same = tone_hz > 0.0 and abs(tone_hz - ref) <= tol * ref
            if same:
                if confirmed:
                    same = energy_db > self._tone_emax - p.tone_drop_db
                elif n <= 2 and energy_db > self._tone_emax:
                    # tones fade in: forgive onset frames quieter than the next
                    self._tone_emin = self._tone_emax = energy_db
                else:
                    lo = min(self._tone_emin, energy_db)
                    hi = max(self._tone_emax, energy_db)
                    same = hi - lo <= p.tone_energy_range_db
            if same:
                n += 1
                self.tone_frames = n
                self._tone_sum += tone_hz
                self.tone_hz = self._tone_sum / n
                if energy_db < self._tone_emin:
                    self._tone_emin = energy_db
                if energy_db > self._tone_emax:
                    self._tone_emax = energy_db
                if n == self._tone_needed:
                    self.tones_confirmed += 1
                    self.confirmed_hz = self.tone_hz
                    self.confirmed_voice_ms = self._tone_voice_ms
                return
            if confirmed:
                # ended: a beep if the line falls quiet now or within a frame or two
                self._end_wait = p.tone_end_frames + 1
                self._end_hz = ref
                self._end_peak = self._tone_emax
                self._end_voice_ms = self._tone_voice_ms
                n = 0
                self.tone_frames = 0
                self._step_tone(energy_db, tone_hz, t_ms)  # this frame may be the quiet one
                return
            self.tone_frames = 0
        # n: frames of an unconfirmed run that broke on this frame (0 if none); a run
        # that starts on that frame continues the same stretch of tonal sound
        if tone_hz > 0.0:
            self.tone_frames = 1
            self.tone_hz = self._tone_sum = tone_hz
            # voice counted before this run (this frame may already have counted)
            self._tone_voice_ms = self.voice_ms - (FRAME_MS if self.run > 0 else 0)
            self._tone_emin = self._tone_emax = energy_db
            if not n:
                # a ramp frame may lead the run: up to two active frames still count as
                # a gap before it
                glued = self._since_quiet > 2
                self._tone_needed = p.tone_glued_min_frames if glued else p.tone_min_frames
            # else: a restart inside tonal sound keeps the requirement it started with

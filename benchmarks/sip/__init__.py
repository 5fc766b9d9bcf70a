# SPDX-License-Identifier: GPL-2.0-or-later
"""``scripts/bench-sip``: capacity of the SIP edge against sipp on 127.0.0.1 (docs/bench-sip.md).

Three phases, each bounded in count and in time:

1. **sipp ceiling** (:mod:`.sipp`) - sipp UAC -> sipp UAS (no dialer) at increasing call
   rates, a few seconds each: what sipp and the loopback manage here, as a reference.
2. **held concurrency** (:mod:`.load`) - one ``SipEdge`` in this process places calls to a
   sipp UAS that answers at once and echoes RTP (``-rtp_echo``); the edge keeps RTP going
   (keep-alive) and taps every call's audio into a frame consumer that counts frames. Levels
   are reached by adding calls; each is held ``hold_s`` seconds and passes only if *every*
   call stayed up, received RTP (pjsua stream statistics) and delivered frames to Python at
   ``>= min_rate`` per second. The ramp stops at the first failing level or when a thread
   of the dialer saturates a core.
3. **calls per second** (:mod:`.load`) - short calls (answer, ``cps_hold_s`` talk, BYE from
   the dialer), each with a frame consumer, originated at each rate for ``cps_duration_s``;
   a rate passes with 0 failures (not answered, not ended by us, or no frame reached Python).

This process is "the dialer": its CPU time (all threads) and RSS are the figures reported.
``--json`` prints one object on stdout (PJSIP's own log lines are moved to stderr).

Modules: :mod:`.plan` (what to run), :mod:`.machine` (/proc readings), :mod:`.sipp` (sipp
processes and the ceiling), :mod:`.calls` (per-call records), :mod:`.load` (the dialer
phases), :mod:`.cli` (arguments, output).
"""

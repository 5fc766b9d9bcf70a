/*
 * dialer: pjproject 2.12 build configuration (copied to pjlib/include/pj/config_site.h
 * by scripts/build-pjsip). SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The stock limits are sized for a softphone (4 calls, 254 conference ports, a 64-socket
 * ioqueue). A dialer needs about a thousand concurrent calls, each with two sockets (RTP and
 * RTCP), one conference port of its own, one FramePort of ours and now and then a player.
 * docs/engine.md explains every number.
 */
#ifndef DIALER_CONFIG_SITE_H
#define DIALER_CONFIG_SITE_H

/* --- Calls ------------------------------------------------------------------------------ */
/* Hard cap of pjsua: ua_cfg.max_calls is silently clamped to it and the call array is
 * static. 1024 covers the 1000 concurrent calls we promise. */
#define PJSUA_MAX_CALLS                     1024

/* Hash table sizes (2^n - 1). Each call has an INVITE dialog, and an INVITE, BYE, re-INVITE
 * or OPTIONS transaction may be alive at once; 4x the calls keeps chains short. */
#define PJSIP_MAX_TSX_COUNT                 (4096 - 1)
#define PJSIP_MAX_DIALOG_COUNT              (2048 - 1)

/* A few trunks/registrations, not a softphone's 8. */
#define PJSUA_MAX_ACC                       32

/* --- Sockets ---------------------------------------------------------------------------- */
/* One ioqueue (SIP's, shared by pjmedia) holds every socket: 2 per call (RTP + RTCP) plus
 * SIP transports (UDP, TCP/TLS listeners and connections), DNS and STUN. With epoll
 * there is no FD_SETSIZE limit; the process' RLIMIT_NOFILE must still be raised by the
 * application (the default soft limit of 1024 allows ~500 calls). */
#define PJ_IOQUEUE_MAX_HANDLES              4096
#define PJ_IOQUEUE_MAX_EVENTS_IN_SINGLE_POLL 64
#define PJ_IOQUEUE_MAX_CAND_EVENTS          64

/* Timer entries handled per poll (retransmissions, session timers, media timeouts of a
 * thousand calls). */
#define PJSIP_MAX_TIMED_OUT_ENTRIES         64

/* --- Media ------------------------------------------------------------------------------ */
/* Conference bridge slots: per call its stream port + one FramePort + a player or tone
 * generator now and then, plus agents' calls. 4x the calls. */
#define PJSUA_MAX_CONF_PORTS                (4 * PJSUA_MAX_CALLS)
#define PJSUA_MAX_PLAYERS                   PJSUA_MAX_CALLS
#define PJSUA_MAX_RECORDERS                 PJSUA_MAX_CALLS

/* Audio only: no video code paths, no per-call video window tables. */
#define PJMEDIA_HAS_VIDEO                   0

/* Speex AEC / WebRTC are not needed: we never play to a loudspeaker. */
#define PJMEDIA_HAS_SPEEX_AEC               0

/* Opus, SILK, AMR, iLBC, G.722.1 are not built; PSTN trunks speak G.711 (also GSM,
 * Speex and G.722 from Debian's libraries or pjmedia itself). */
#define PJMEDIA_HAS_ILBC_CODEC              0
#define PJMEDIA_HAS_G7221_CODEC             0

#endif /* DIALER_CONFIG_SITE_H */

"""The Redis key layout of the record store (docs/records.md shows it too).

``P`` is ``{prefix}:campaign:{name}``:

========================  ======  ==================================================
key                       type    holds
========================  ======  ==================================================
P:r:{id}                  hash    d (Record JSON), m (Progress JSON), st (state),
                                  tok (fencing token), own (claimer), ca (claimed at),
                                  exp (lease end), pick (number index), rk (rank),
                                  nums (E.164 list), pref (number order), cba
                                  (personal-callback agent), lost (expired leases)
P:h:{id}                  list    history: HistoryEntry JSON, oldest first
P:ready                   zset    due records; score = rank (tier, priority, due time)
P:sched                   zset    records due later; score = due epoch
P:pcb                     zset    personal callbacks; score = due epoch
P:pcb:{agent}             zset    one agent's personal callbacks; score = due epoch
P:leases                  zset    claimed/offered/accepted records; score = lease end
P:wrap                    zset    answered, awaiting disposition; score = deadline
P:tok                     string  fencing-token counter (INCR)
P:dnc                     set     the campaign's do-not-call list (E.164)
P:stats                   hash    counters: imported, attempts, done, skips, ...
{prefix}:dnc              set     the global internal do-not-call list (E.164)
{prefix}:abandoned:{num}  string  epoch of the last abandoned call (TTL = lock)
========================  ======  ==================================================
"""

from __future__ import annotations


class Keys:
    def __init__(self, prefix: str, campaign: str) -> None:
        self.prefix = prefix
        self.campaign = campaign
        base = f"{prefix}:campaign:{campaign}"
        self.base = base
        self.rec_prefix = f"{base}:r:"
        self.hist_prefix = f"{base}:h:"
        self.ready = f"{base}:ready"
        self.sched = f"{base}:sched"
        self.pcb = f"{base}:pcb"
        self.pcb_prefix = f"{base}:pcb:"
        self.leases = f"{base}:leases"
        self.wrap = f"{base}:wrap"
        self.tok = f"{base}:tok"
        self.dnc = f"{base}:dnc"
        self.stats = f"{base}:stats"
        self.global_dnc = f"{prefix}:dnc"
        self.abandoned_prefix = f"{prefix}:abandoned:"

    def rec(self, record_id: str) -> str:
        return self.rec_prefix + record_id

    def hist(self, record_id: str) -> str:
        return self.hist_prefix + record_id

    def pcb_agent(self, agent_id: str) -> str:
        return self.pcb_prefix + agent_id

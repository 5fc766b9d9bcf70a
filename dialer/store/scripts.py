"""Lua scripts: every state change of a record is one atomic script.

Atomicity is what makes the guarantees hold: CLAIM pops a record and leases it with a
fresh fencing token in one step, so two claimers can never hold the same record; APPLY
changes a record only when the caller's token is still the record's token, so a result
reported by a claimer whose lease expired is refused and never counted twice.

Record keys are built inside the scripts from a prefix (single-instance Redis; a
cluster deployment would need hash tags on the campaign key).
"""

from __future__ import annotations

# ARGV: 1 campaign base key P, 2 global prefix, 3 now, 4 lease end, 5 claimer,
#       6 agent ('' = none), 7 options "batch,check global dnc (1/0),callback grace s,
#       fetch abandoned (1/0)". Keys are derived from P (see dialer/store/keys.py): a
#       claim is one short command, the hot path of the dialer.
# Returns {false, reaped, wrap_due} when nothing is due, else
#   {id, token, d, m, lost, dnc flags, abandoned, pick, reaped, wrap_due}
# (wrap_due: 1 when an answered record's disposition deadline has passed)
CLAIM = r"""
local P, G = ARGV[1], ARGV[2]
local opts = {}
for o in string.gmatch(ARGV[7], '[^,]+') do opts[#opts + 1] = o end
-- K: 1 ready, 2 sched, 3 leases, 4 tok, 5 pcb, 6 pcb:{agent}, 7 global dnc, 8 campaign
--    dnc, 9 wrap
local K = {P .. ':ready', P .. ':sched', P .. ':leases', P .. ':tok', P .. ':pcb',
           P .. ':pcb:' .. (ARGV[6] ~= '' and ARGV[6] or '-'), G .. ':dnc', P .. ':dnc',
           P .. ':wrap'}
-- A: 1 now, 2 lease end, 3 claimer, 4 record-key prefix, 5 batch, 6 agent, 7 pcb-agent
--    prefix, 8 check global dnc, 9 grace s, 10 history prefix, 11 abandoned prefix,
--    12 fetch abandoned
local A = {ARGV[3], ARGV[4], ARGV[5], P .. ':r:', opts[1], ARGV[6], P .. ':pcb:', opts[2],
           opts[3], P .. ':h:', G .. ':abandoned:', opts[4]}
local now = tonumber(A[1])
local rp, batch = A[4], tonumber(A[5])
local reaped = {}
local wrap_due = #redis.call('ZRANGEBYSCORE', K[9], '-inf', A[1], 'LIMIT', 0, 1)
-- 1. expired leases (a crashed node) come back; their token dies with them
local exp = redis.call('ZRANGEBYSCORE', K[3], '-inf', A[1], 'LIMIT', 0, batch)
for _, id in ipairs(exp) do
  redis.call('ZREM', K[3], id)
  local k = rp .. id
  local f = redis.call('HMGET', k, 'st', 'tok', 'ca', 'pick', 'rk', 'own')
  local st = f[1]
  if st == 'claimed' or st == 'offered' or st == 'accepted' then
    if st ~= 'offered' then
      -- a dial may have happened: count it against the caps, conservatively
      local lost = redis.call('HGET', k, 'lost') or ''
      redis.call('HSET', k, 'lost', lost .. (f[3] or A[1]) .. ':' .. (f[4] or '-1') .. ';')
      redis.call('RPUSH', A[10] .. id, cjson.encode({
        at = now, kind = 'lost', token = tonumber(f[2]) or 0,
        number_index = tonumber(f[4]) or -1, agent_id = f[6] or '',
        detail = 'lease expired; the attempt is counted against the caps'}))
    end
    redis.call('HSET', k, 'st', 'pending', 'tok', '0', 'own', '')
    redis.call('ZADD', K[1], f[5] or '0', id)
    reaped[#reaped + 1] = id
  end
end
-- 2. scheduled records whose time has come
local due = redis.call('ZRANGEBYSCORE', K[2], '-inf', A[1], 'LIMIT', 0, batch)
for _, id in ipairs(due) do
  redis.call('ZREM', K[2], id)
  redis.call('ZADD', K[1], redis.call('HGET', rp .. id, 'rk') or '0', id)
end
-- 3. personal callbacks past their grace go to any agent
local g = redis.call('ZRANGEBYSCORE', K[5], '-inf', now - tonumber(A[9]), 'LIMIT', 0, batch)
for _, id in ipairs(g) do
  local k = rp .. id
  redis.call('ZREM', K[5], id)
  local a = redis.call('HGET', k, 'cba')
  if a and a ~= '' then redis.call('ZREM', A[7] .. a, id) end
  redis.call('HSET', k, 'cba', '')
  redis.call('ZADD', K[1], redis.call('HGET', k, 'rk') or '0', id)
end
-- 4. this agent's due personal callbacks first, then the best due record
local id = nil
if A[6] ~= '' then
  local mine = redis.call('ZRANGEBYSCORE', K[6], '-inf', A[1], 'LIMIT', 0, 1)
  if #mine > 0 then
    id = mine[1]
    redis.call('ZREM', K[6], id)
    redis.call('ZREM', K[5], id)
    redis.call('HSET', rp .. id, 'cba', '')
  end
end
local tries = 0
while not id do
  local p = redis.call('ZPOPMIN', K[1])
  if #p == 0 then return {false, reaped, wrap_due} end
  if redis.call('HGET', rp .. p[1], 'st') == 'pending' then id = p[1] end
  tries = tries + 1
  if tries > 100 and not id then return {false, reaped, wrap_due} end
end
local k = rp .. id
local tok = redis.call('INCR', K[4])
local f = redis.call('HMGET', k, 'd', 'm', 'lost', 'nums', 'pref')
local flags, aband, nums = {}, {}, {}
for n in string.gmatch(f[4] or '', '[^,]+') do nums[#nums + 1] = n end
for i, n in ipairs(nums) do
  local fl = 0
  if A[8] == '1' and redis.call('SISMEMBER', K[7], n) == 1 then fl = 1 end
  if redis.call('SISMEMBER', K[8], n) == 1 then fl = fl + 2 end
  flags[i] = tostring(fl)
  if A[12] == '1' then aband[i] = redis.call('GET', A[11] .. n) or '' else aband[i] = '' end
end
local pick = -1
local order = f[5]
if not order or order == '' then
  local t = {}
  for i = 1, #nums do t[i] = tostring(i - 1) end
  order = table.concat(t, ',')
end
for p in string.gmatch(order, '[^,]+') do
  local i = tonumber(p)
  if flags[i + 1] == '0' then pick = i; break end
end
redis.call('HSET', k, 'st', 'claimed', 'tok', tok, 'own', A[3], 'ca', A[1],
           'pick', pick, 'exp', A[2])
redis.call('ZADD', K[3], A[2], id)
return {id, tok, f[1] or '', f[2] or '', f[3] or '', table.concat(flags, ','),
        table.concat(aband, ','), pick, reaped, wrap_due}
"""

# KEYS: 1 rec, 2 leases, 3 ready, 4 sched, 5 pcb, 6 pcb:{agent} (target), 7 wrap, 8 hist,
#       9 stats, 10 campaign dnc
# ARGV: 1 id, 2 token, 3 allowed states ",a,b,", 4 new state, 5 where
#       (ready|sched|pcb|wrap|lease|keep|none), 6 score, 7 rk, 8 m, 9 d, 10 nums, 11 pref,
#       12 callback agent, 13 n history, 14 n stats (pairs), 15 n dnc, 16 n sets (triples
#       key value ttl_s), 17 owner ('' keep), then the items in that order
# '' for rk/m/d/nums/pref means "keep". Returns {status, old state}: ok | stale | state | missing
APPLY = r"""
local f = redis.call('HMGET', KEYS[1], 'st', 'tok')
if not f[1] then return {'missing', ''} end
if f[2] ~= ARGV[2] then return {'stale', f[1]} end
if not string.find(ARGV[3], ',' .. f[1] .. ',', 1, true) then return {'state', f[1]} end
local id, new, where = ARGV[1], ARGV[4], ARGV[5]
if where ~= 'keep' then
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[7], id)
end
if new == 'pending' or new == 'done' then
  redis.call('HSET', KEYS[1], 'st', new, 'tok', '0', 'own', '')
else
  redis.call('HSET', KEYS[1], 'st', new)
end
if ARGV[17] ~= '' then redis.call('HSET', KEYS[1], 'own', ARGV[17]) end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'rk', ARGV[7]) end
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[1], 'm', ARGV[8])
  redis.call('HDEL', KEYS[1], 'lost')
end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'd', ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'nums', ARGV[10]) end
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'pref', ARGV[11]) end
if where == 'ready' then
  redis.call('ZADD', KEYS[3], ARGV[6], id)
elseif where == 'sched' then
  redis.call('ZADD', KEYS[4], ARGV[6], id)
elseif where == 'pcb' then
  redis.call('ZADD', KEYS[5], ARGV[6], id)
  redis.call('ZADD', KEYS[6], ARGV[6], id)
  redis.call('HSET', KEYS[1], 'cba', ARGV[12])
elseif where == 'wrap' then
  redis.call('ZADD', KEYS[7], ARGV[6], id)
elseif where == 'lease' then
  redis.call('ZADD', KEYS[2], ARGV[6], id)
  redis.call('HSET', KEYS[1], 'exp', ARGV[6])
end
local i = 18
for _ = 1, tonumber(ARGV[13]) do redis.call('RPUSH', KEYS[8], ARGV[i]); i = i + 1 end
for _ = 1, tonumber(ARGV[14]) do
  redis.call('HINCRBY', KEYS[9], ARGV[i], ARGV[i + 1]); i = i + 2
end
for _ = 1, tonumber(ARGV[15]) do redis.call('SADD', KEYS[10], ARGV[i]); i = i + 1 end
for _ = 1, tonumber(ARGV[16]) do
  redis.call('SET', ARGV[i], ARGV[i + 1], 'EX', ARGV[i + 2]); i = i + 3
end
return {'ok', f[1]}
"""

# KEYS: 1 rec, 2 leases.  ARGV: 1 id, 2 token, 3 lease end, 4 pick ('' = keep)
RENEW = r"""
local f = redis.call('HMGET', KEYS[1], 'st', 'tok')
if not f[1] then return 'missing' end
if f[2] ~= ARGV[2] then return 'stale' end
if f[1] ~= 'claimed' and f[1] ~= 'offered' and f[1] ~= 'accepted' then return 'stale' end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[1], 'exp', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'pick', ARGV[4]) end
return 'ok'
"""

# KEYS: 1 ready, 2 sched, 3 stats.  ARGV: 1 record-key prefix, 2 now, 3 count, then per
# record: id, d, nums, rk, due.  New records only: an id already stored is returned,
# never overwritten.
IMPORT = r"""
local rp, now, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local dups, ok = {}, 0
local i = 4
for _ = 1, n do
  local id = ARGV[i]
  local k = rp .. id
  if redis.call('EXISTS', k) == 1 then
    dups[#dups + 1] = id
  else
    redis.call('HSET', k, 'd', ARGV[i + 1], 'nums', ARGV[i + 2], 'rk', ARGV[i + 3],
               'st', 'pending', 'tok', '0')
    if tonumber(ARGV[i + 4]) <= now then
      redis.call('ZADD', KEYS[1], ARGV[i + 3], id)
    else
      redis.call('ZADD', KEYS[2], ARGV[i + 4], id)
    end
    ok = ok + 1
  end
  i = i + 5
end
if ok > 0 then redis.call('HINCRBY', KEYS[3], 'imported', ok) end
return dups
"""

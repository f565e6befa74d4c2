"""The Lua scripts of the Redis bus: each step is one atomic round trip.

Keys (``P`` is ``"<namespace>:"``, ``W`` a worker key ``node-worker-boot``):

=====================  ============================================================
``P workers``          sorted set: worker key -> time of its last heartbeat (ms)
``P c:W``              hash: client id -> uid (``""``: none), the worker's clients
``P m:W``              set: ``"<client id> <group>"``, the worker's memberships
``P u:<uid>``          hash: client id -> worker key
``P g:<group>``        hash: client id -> worker key
``P w:W`` (channel)    what is for worker W: deliveries, requests, replies, pings
``P all`` (channel)    deliveries to everyone
=====================  ============================================================

Every read skips entries of workers whose last heartbeat is older than the ttl, and every
heartbeat removes such workers' entries, so a dead worker's or host's connections vanish
from answers within ``ttl`` seconds and from Redis within ``ttl + heartbeat``. Keys are
built inside the scripts, so this works on one Redis server (or a Sentinel-managed
primary), not on Redis Cluster.
"""

from __future__ import annotations

__all__ = ["BEAT", "OPS", "QUERY", "ROUTE", "UNGROUP"]

_COMMON = """
local P = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function drop_worker(w)
  local clients = redis.call('HGETALL', P .. 'c:' .. w)
  for i = 1, #clients, 2 do
    if clients[i + 1] ~= '' then redis.call('HDEL', P .. 'u:' .. clients[i + 1], clients[i]) end
  end
  for _, m in ipairs(redis.call('SMEMBERS', P .. 'm:' .. w)) do
    local sp = string.find(m, ' ', 1, true)
    if sp then redis.call('HDEL', P .. 'g:' .. string.sub(m, sp + 1), string.sub(m, 1, sp - 1)) end
  end
  redis.call('DEL', P .. 'c:' .. w, P .. 'm:' .. w)
end
local function liveness(ttl)
  local cutoff = now_ms() - tonumber(ttl)
  local cache = {}
  return function(w)
    local v = cache[w]
    if v == nil then
      local score = redis.call('ZSCORE', P .. 'workers', w)
      v = (score ~= false and score ~= nil and tonumber(score) >= cutoff)
      cache[w] = v
    end
    return v
  end
end
"""

#: ARGV: prefix, worker, JSON list of ops (open, gone, bind, unbind, join, leave, reset, add).
OPS = (
    _COMMON
    + """
local w = ARGV[2]
local C, M = P .. 'c:' .. w, P .. 'm:' .. w
local function unbind(cid)
  local old = redis.call('HGET', C, cid)
  if old and old ~= '' then redis.call('HDEL', P .. 'u:' .. old, cid) end
end
local function join(cid, g)
  redis.call('HSET', P .. 'g:' .. g, cid, w)
  redis.call('SADD', M, cid .. ' ' .. g)
end
local function leave(cid, g)
  redis.call('HDEL', P .. 'g:' .. g, cid)
  redis.call('SREM', M, cid .. ' ' .. g)
end
for _, op in ipairs(cjson.decode(ARGV[3])) do
  local kind, cid = op[1], op[2]
  if kind == 'open' then
    redis.call('HSET', C, cid, '')
  elseif kind == 'gone' then
    unbind(cid)
    redis.call('HDEL', C, cid)
    for _, g in ipairs(op[4]) do leave(cid, g) end
  elseif kind == 'bind' then
    unbind(cid)
    redis.call('HSET', C, cid, op[3])
    redis.call('HSET', P .. 'u:' .. op[3], cid, w)
  elseif kind == 'unbind' then
    unbind(cid)
    redis.call('HSET', C, cid, '')
  elseif kind == 'join' then
    join(cid, op[3])
  elseif kind == 'leave' then
    leave(cid, op[3])
  elseif kind == 'reset' then
    drop_worker(w)
  elseif kind == 'add' then
    local uid = op[3]
    if uid == cjson.null or uid == nil then uid = '' end
    redis.call('HSET', C, cid, uid)
    if uid ~= '' then redis.call('HSET', P .. 'u:' .. uid, cid, w) end
    for _, g in ipairs(op[4]) do join(cid, g) end
  end
end
return 1
"""
)

#: ARGV: prefix, worker, ttl (ms). Returns {1 if the worker was unknown (new or lost), dead}.
BEAT = (
    _COMMON
    + """
local w, ttl = ARGV[2], tonumber(ARGV[3])
local now = now_ms()
local added = redis.call('ZADD', P .. 'workers', now, w)
local dead = redis.call('ZRANGEBYSCORE', P .. 'workers', '-inf', '(' .. (now - ttl))
for _, d in ipairs(dead) do
  drop_worker(d)
  redis.call('ZREM', P .. 'workers', d)
end
return {added, #dead}
"""
)

#: ARGV: prefix, origin ('' for none), ttl (ms), 'u' or 'g', payload, keys...
#: Publishes the payload once to each live worker holding a member. Returns how many.
ROUTE = (
    _COMMON
    + """
local origin, alive, kind, payload = ARGV[2], liveness(ARGV[3]), ARGV[4], ARGV[5]
local seen, sent = {}, 0
for i = 6, #ARGV do
  for _, w in ipairs(redis.call('HVALS', P .. kind .. ':' .. ARGV[i])) do
    if not seen[w] then
      seen[w] = true
      if w ~= origin and alive(w) then
        redis.call('PUBLISH', P .. 'w:' .. w, payload)
        sent = sent + 1
      end
    end
  end
end
return sent
"""
)

#: ARGV: prefix, origin, ttl (ms), group, payload. Tells live holders, forgets the group.
UNGROUP = (
    _COMMON
    + """
local origin, alive, group, payload = ARGV[2], liveness(ARGV[3]), ARGV[4], ARGV[5]
local members = redis.call('HGETALL', P .. 'g:' .. group)
local told = {}
for i = 1, #members, 2 do
  local cid, w = members[i], members[i + 1]
  redis.call('SREM', P .. 'm:' .. w, cid .. ' ' .. group)
  if not told[w] then
    told[w] = true
    if w ~= origin and alive(w) then redis.call('PUBLISH', P .. 'w:' .. w, payload) end
  end
end
redis.call('DEL', P .. 'g:' .. group)
return 1
"""
)

#: ARGV: prefix, ttl (ms), op, key, [worker of the client]. Answers from live workers only.
QUERY = (
    _COMMON
    + """
local alive, op, key = liveness(ARGV[2]), ARGV[3], ARGV[4]
local function members(kind)
  local found, pairs_ = {}, redis.call('HGETALL', P .. kind .. ':' .. key)
  for i = 1, #pairs_, 2 do
    if alive(pairs_[i + 1]) then found[#found + 1] = pairs_[i] end
  end
  return found
end
if op == 'client_ids_by_uid' then return members('u') end
if op == 'group_client_ids' then return members('g') end
if op == 'group_count' then return #members('g') end
if op == 'is_uid_online' then return #members('u') > 0 and 1 or 0 end
if op == 'all_count' then
  local total = 0
  for _, w in ipairs(redis.call('ZRANGE', P .. 'workers', 0, -1)) do
    if alive(w) then total = total + redis.call('HLEN', P .. 'c:' .. w) end
  end
  return total
end
local w = ARGV[5]
if not alive(w) then return false end
if op == 'is_online' then return redis.call('HEXISTS', P .. 'c:' .. w, key) end
if op == 'uid_by_client' then
  local uid = redis.call('HGET', P .. 'c:' .. w, key)
  if not uid or uid == '' then return false end
  return uid
end
return redis.error_reply('unknown query ' .. op)
"""
)

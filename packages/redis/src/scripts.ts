import { createHash } from 'node:crypto';
import type { Client } from './connection.js';

/**
 * The Lua scripts of the Store. Each Store call that touches more than one key is one script,
 * so it is atomic: a broker crash between two commands cannot leave a subscription indexed but
 * not stored, a queue half trimmed, and so on.
 *
 * ARGV[1] is always the key prefix, KEYS[1] a key of the slot the script works in (on Cluster
 * every key shares the prefix's hash tag, so the keys the script builds are in that slot too).
 */
const PRELUDE = `
local P = ARGV[1]
local NODES = P .. 'subs:nodes'
local EXPIRING = P .. 'expiring'
local function K(kind, id) return P .. kind .. ':' .. id end

local function split(s)
  local t, start = {}, 1
  while true do
    local i = string.find(s, '/', start, true)
    if not i then t[#t + 1] = string.sub(s, start); return t end
    t[#t + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
end

-- 'a/+/c' -> 'a', 'a/+', 'a/+/c': the trie nodes a filter passes through.
local function prefixes(filter)
  local list, start = {}, 1
  while true do
    local i = string.find(filter, '/', start, true)
    if not i then list[#list + 1] = filter; return list end
    list[#list + 1] = string.sub(filter, 1, i - 1)
    start = i + 1
  end
end

-- The trie path of a filter: '<filter>' of a shared subscription '$share/<group>/<filter>', which
-- is also listed in the set subs:shared:<filter>; the filter itself otherwise.
local function triePath(filter)
  if string.sub(filter, 1, 7) ~= '$share/' then return filter end
  local i = string.find(filter, '/', 8, true)
  if not i then return filter end
  return string.sub(filter, i + 1)
end

local function index(id, filter, qos)
  local fkey = P .. 'subs:f:' .. filter
  if redis.call('HSET', fkey, id, qos) == 1 and redis.call('HLEN', fkey) == 1 then
    local path = triePath(filter)
    if path ~= filter then redis.call('SADD', P .. 'subs:shared:' .. path, filter) end
    for _, p in ipairs(prefixes(path)) do redis.call('HINCRBY', NODES, p, 1) end
  end
end

local function unindex(id, filter)
  local fkey = P .. 'subs:f:' .. filter
  if redis.call('HDEL', fkey, id) == 1 and redis.call('EXISTS', fkey) == 0 then
    local path = triePath(filter)
    if path ~= filter then redis.call('SREM', P .. 'subs:shared:' .. path, filter) end
    for _, p in ipairs(prefixes(path)) do
      if redis.call('HINCRBY', NODES, p, -1) <= 0 then redis.call('HDEL', NODES, p) end
    end
  end
end

-- Retained messages with a Message Expiry Interval are also in RETAINED_EXPIRING, by expiry time.
local RETAINED_EXPIRING = P .. 'retained:expiring'
local function forgetRetained(topic, level)
  local byLevel = P .. 'retained:l:' .. level
  redis.call('HDEL', P .. 'retained', topic)
  redis.call('ZREM', RETAINED_EXPIRING, topic)
  redis.call('SREM', byLevel, topic)
  if redis.call('SCARD', byLevel) == 0 then redis.call('SREM', P .. 'retained:levels', level) end
end

-- A will is filed under the Store instance that wrote it (WILL_OWNER, wills:<instance>), so that
-- the wills of an instance that is gone can be claimed (CLAIM_ORPHANED_WILLS).
-- A will's Will Delay (ms) is in WILL_DELAY; once its connection ended, when it is due in WILL_DUE.
local WILL_OWNER = P .. 'willowner'
local WILL_WRITERS = P .. 'willwriters'
local WILL_DELAY = P .. 'willdelay'
local WILL_DUE = P .. 'willdue'
local function forgetWill(id)
  local owner = redis.call('HGET', WILL_OWNER, id)
  if owner then redis.call('SREM', P .. 'wills:' .. owner, id) end
  redis.call('HDEL', WILL_OWNER, id)
  redis.call('HDEL', WILL_DELAY, id)
  redis.call('ZREM', WILL_DUE, id)
  redis.call('DEL', K('will', id))
end

-- The instances listed (instances, and willwriters of earlier versions) whose alive key is gone.
local function deadListed()
  local out = {}
  for _, w in ipairs(redis.call('SUNION', P .. 'instances', WILL_WRITERS)) do
    if redis.call('EXISTS', P .. 'alive:' .. w) == 0 then out[#out + 1] = w end
  end
  return out
end

-- Appends the client's will (id, will) to \`out\`, and forgets it.
local function takeWill(id, out)
  local will = redis.call('GET', K('will', id))
  if will then
    out[#out + 1] = id
    out[#out + 1] = will
  end
  forgetWill(id)
end

-- Milliseconds by Redis' clock.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Forgets a session, its will excepted.
local function drop(id)
  local sub = K('sub', id)
  for _, f in ipairs(redis.call('HKEYS', sub)) do unindex(id, f) end
  redis.call('DEL', K('session', id), sub, K('queue', id), K('queued', id), K('removed', id), K('out', id), K('outorder', id), K('in', id))
  redis.call('ZREM', EXPIRING, id)
end

-- An offline session's key expires after ttl ms; its subscriptions and incoming ids have no TTL
-- of their own: sweepExpired() finds it in EXPIRING (by Redis' clock) and drops it all, unindexing
-- its filters, which an expired subscription hash could no longer tell.
local function expiresIn(id, ttl)
  redis.call('PEXPIRE', K('session', id), ttl)
  redis.call('ZADD', EXPIRING, nowMs() + tonumber(ttl), id)
end

-- The sessions an instance connected (owned:<instance>): those a survivor marks offline if it dies.
local function owned(instance) return P .. 'owned:' .. instance end

-- Creates the session when missing, after clearing what an expired one may have left.
local function ensure(id, ttl)
  if redis.call('EXISTS', K('session', id)) == 1 then return end
  drop(id)
  redis.call('HSET', K('session', id), 'connected', '0')
  expiresIn(id, ttl)
end
`;

export class Script {
  readonly source: string;
  readonly sha: string;
  constructor(body: string, withPrelude = true) {
    this.source = withPrelude ? PRELUDE + body : body;
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }
}

/** ARGV: prefix, clientId, ttl, filter1, qos1, filter2, qos2, ... */
export const ADD_SUBSCRIPTIONS = new Script(`
local id = ARGV[2]
ensure(id, ARGV[3])
for i = 4, #ARGV, 2 do
  redis.call('HSET', K('sub', id), ARGV[i], ARGV[i + 1])
  index(id, ARGV[i], ARGV[i + 1])
end
return 1
`);

/** ARGV: prefix, clientId, ttl */
export const CREATE_SESSION = new Script(`
ensure(ARGV[2], ARGV[3])
return 1
`);

/** ARGV: prefix, clientId, filter1, filter2, ... */
export const REMOVE_SUBSCRIPTIONS = new Script(`
local id = ARGV[2]
if redis.call('EXISTS', K('session', id)) == 0 then return 0 end
for i = 3, #ARGV do
  redis.call('HDEL', K('sub', id), ARGV[i])
  unindex(id, ARGV[i])
end
return 1
`);

/**
 * ARGV: prefix, clientId, ttl. Nil when there is no session, else HGETALL of its subscriptions.
 * A session still marked connected by an instance that is gone (its alive key expired) is
 * offline from now on, for its own expiry interval (else the ttl), as after a LevelDB restart.
 */
export const GET_SESSION = new Script(`
local id = ARGV[2]
local session = K('session', id)
if redis.call('EXISTS', session) == 0 then return false end
local owner = redis.call('HGET', session, 'connected')
if owner and owner ~= '0' and owner ~= '1' and redis.call('EXISTS', P .. 'alive:' .. owner) == 0 then
  redis.call('HSET', session, 'connected', '0')
  expiresIn(id, redis.call('HGET', session, 'expiry') or ARGV[3])
end
return redis.call('HGETALL', K('sub', id))
`);

/**
 * ARGV: prefix, clientId, owner instance id (connected) or '0' (disconnected), the session's own
 * expiry interval in ms ('' for none given: the one recorded earlier, else the ttl), ttl, the
 * calling instance's id, and with several shards a token ('' with one). A connected session does
 * not expire; its interval is kept in the hash ('expiry'). Disconnecting clears only the caller's
 * own mark: an instance that closes a connection late must not mark offline a session another
 * instance connected since ('1', the marker of versions before owners, is anyone's). The owner
 * lists the session in owned:<owner> until it ends its connection, and records the number of the
 * Emitter stream's last entry as 'since' (CLAIM_DEAD_INSTANCES). With several shards the streams'
 * counters are in other slots: 'since' becomes 'p' .. token, read as "every entry so far", until
 * SET_SINCE writes the counters read after this call.
 */
export const SET_CONNECTED = new Script(`
local id = ARGV[2]
local session = K('session', id)
-- The caller's connection is over: its work for the session is done, whoever holds it now.
if ARGV[3] == '0' then redis.call('SREM', owned(ARGV[6]), id) end
if redis.call('EXISTS', session) == 0 then return 0 end
if ARGV[3] == '0' then
  local owner = redis.call('HGET', session, 'connected')
  if owner ~= ARGV[6] and owner ~= '1' and owner ~= '0' then return 0 end
end
redis.call('HSET', session, 'connected', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', session, 'expiry', ARGV[4]) end
if ARGV[3] ~= '0' then
  redis.call('PERSIST', session)
  redis.call('ZREM', EXPIRING, id)
  redis.call('SADD', owned(ARGV[3]), id)
  -- The number of the stream's last entry now: what comes after it, the new owner delivers
  -- (SUBSCRIPTIONS_BY_TOPIC, CLAIM_DEAD_INSTANCES).
  if ARGV[7] ~= '' then
    redis.call('HSET', session, 'since', 'p' .. ARGV[7])
  else
    redis.call('HSET', session, 'since', redis.call('GET', P .. 'stream:n') or '0')
  end
else
  expiresIn(id, redis.call('HGET', session, 'expiry') or ARGV[5])
end
return 1
`);

/**
 * Several shards. ARGV: prefix, clientId, the token SET_CONNECTED recorded, the streams' counters
 * read after it ('n0,n1,...'): written as 'since' unless another connection marked the session since.
 */
export const SET_SINCE = new Script(`
local session = K('session', ARGV[2])
if redis.call('HGET', session, 'since') ~= 'p' .. ARGV[3] then return 0 end
redis.call('HSET', session, 'since', ARGV[4])
return 1
`);

/**
 * ARGV: prefix, limit. Looks at up to `limit` sessions whose expiry (Redis' clock) has passed:
 * drops those whose key is gone, re-scores one renewed meanwhile. Returns {dropped, looked at}.
 */
export const SWEEP_EXPIRED = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dropped = 0
local due = redis.call('ZRANGEBYSCORE', EXPIRING, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  local ttl = redis.call('PTTL', K('session', id))
  if ttl > 0 then
    redis.call('ZADD', EXPIRING, now + ttl, id)
  elseif ttl == -1 then
    redis.call('ZREM', EXPIRING, id) -- connected: it does not expire
  else
    drop(id)
    dropped = dropped + 1
  end
end
return {dropped, #due}
`);

/** ARGV: prefix, clientId */
export const DELETE_SESSION = new Script(`
drop(ARGV[2])
forgetWill(ARGV[2])
return 1
`);

/**
 * ARGV: prefix, clientId, encoded will, instance id of the writing Store, Will Delay in ms ('' or
 * 0: none), when it is due (ms; '' while its connection lasts).
 */
export const PUT_WILL = new Script(`
local id, owner = ARGV[2], ARGV[4]
forgetWill(id)
redis.call('SET', K('will', id), ARGV[3])
redis.call('HSET', WILL_OWNER, id, owner)
redis.call('SADD', P .. 'wills:' .. owner, id)
redis.call('SADD', WILL_WRITERS, owner)
if ARGV[5] ~= '' and tonumber(ARGV[5]) > 0 then redis.call('HSET', WILL_DELAY, id, ARGV[5]) end
if ARGV[6] ~= '' then redis.call('ZADD', WILL_DUE, ARGV[6], id) end
return 1
`);

/** ARGV: prefix, clientId, '1' to delete only a will waiting for its delay (one with a due time). */
export const DELETE_WILL = new Script(`
if ARGV[3] == '1' and not redis.call('ZSCORE', WILL_DUE, ARGV[2]) then return 0 end
forgetWill(ARGV[2])
return 1
`);

/**
 * ARGV: prefix, instance id. Renews the instance's liveness key (ARGV[3]: its time to live in ms)
 * and lists it among the instances; answers 1 if another instance took it for dead meanwhile
 * (claimed:<id>, written by CLAIM_DEAD_INSTANCES).
 */
export const HEARTBEAT = new Script(`
redis.call('SET', P .. 'alive:' .. ARGV[2], '1', 'PX', ARGV[3])
redis.call('SADD', P .. 'instances', ARGV[2])
return redis.call('EXISTS', P .. 'claimed:' .. ARGV[2])
`);

/**
 * ARGV: prefix, caller's instance id, liveness ttl (ms), sessions' ttl (ms), most stream entries
 * returned per dead instance, and with several shards the instances to claim, as CLAIM_LEASE found
 * them (with one shard: each listed instance, in instances or in willwriters of earlier versions,
 * whose alive key is gone). For each, atomically, so that one caller only gets each duty:
 * - its sessions (owned:<id>) still marked with it are marked offline (they expire by their own
 *   interval from now), and all of them are returned, each with the last stream entry it may lack
 *   ('' for all: offline; 'since' for one connected again elsewhere, whose new instance delivers
 *   what came after it);
 * - the stream entries after its last committed read position (stream:pos:<id>, kept by the
 *   Emitter sharing this prefix and instance id) are returned, their messages only;
 * - its wills that are due are returned and forgotten; a will with a Will Delay gets its due
 *   time now (Redis' clock) and waits for a later call;
 * - it is forgotten once it has no will left, and marked claimed:<id> for an hour (HEARTBEAT).
 * Returns {dead instance ids, {clientId, will, ...}, {session id, last entry number, ...}, {entry number, message, ...}}.
 */
export const CLAIM_DEAD_INSTANCES = new Script(`
local me = ARGV[2]
redis.call('SET', P .. 'alive:' .. me, '1', 'PX', ARGV[3])
redis.call('SADD', P .. 'instances', me)
local now = nowMs()
local dead, wills, sessions, messages = {}, {}, {}, {}
local candidates
if #ARGV > 5 then candidates = {unpack(ARGV, 6)} else candidates = deadListed() end
for _, w in ipairs(candidates) do
  if w ~= me then
    local members = redis.call('SMEMBERS', owned(w))
    local position = P .. 'stream:pos:' .. w
    local from = redis.call('GET', position)
    if #members > 0 or from then
      dead[#dead + 1] = w
      redis.call('SET', P .. 'claimed:' .. w, '1', 'PX', 3600000)
    end
    for _, id in ipairs(members) do
      local session = K('session', id)
      local upTo = ''
      if redis.call('HGET', session, 'connected') == w then
        redis.call('HSET', session, 'connected', '0')
        expiresIn(id, redis.call('HGET', session, 'expiry') or ARGV[4])
      else
        upTo = redis.call('HGET', session, 'since') or ''
      end
      sessions[#sessions + 1] = id
      sessions[#sessions + 1] = upTo
    end
    redis.call('DEL', owned(w), position)
    if from then
      for _, entry in ipairs(redis.call('XRANGE', P .. 'stream', '(' .. from, '+', 'COUNT', tonumber(ARGV[5]))) do
        local fields = entry[2]
        for i = 1, #fields, 2 do
          if fields[i] == 'n' then messages[#messages + 1] = fields[i + 1] end
          if fields[i] == 'm' then messages[#messages + 1] = fields[i + 1] end
        end
      end
    end
    local set, waiting = P .. 'wills:' .. w, 0
    for _, id in ipairs(redis.call('SMEMBERS', set)) do
      if redis.call('HGET', WILL_OWNER, id) == w then
        local due = redis.call('ZSCORE', WILL_DUE, id)
        if not due then
          local delay = tonumber(redis.call('HGET', WILL_DELAY, id) or '0')
          if delay > 0 then
            due = now + delay
            redis.call('ZADD', WILL_DUE, due, id)
          end
        end
        if due and tonumber(due) > now then
          waiting = waiting + 1
        else
          takeWill(id, wills)
        end
      else
        redis.call('SREM', set, id)
      end
    end
    if waiting == 0 then
      redis.call('DEL', set)
      redis.call('SREM', P .. 'instances', w)
      redis.call('SREM', WILL_WRITERS, w)
    end
  end
end
return {dead, wills, sessions, messages}
`);

/**
 * Several shards, in each shard. ARGV: prefix. The instances listed here (instances, willwriters)
 * whose alive key is gone here: candidates for CLAIM_LEASE.
 */
export const DEAD_LISTED = new Script(`
return deadListed()
`);

/**
 * Several shards, in the first shard. ARGV: prefix, caller's instance id, liveness ttl (ms),
 * candidates (DEAD_LISTED of every shard). One instance at a time claims dead instances on every
 * shard (the lease, held for the liveness ttl and renewed by each call): two callers claiming one
 * shard each would split a dead instance's sessions from the stream entries they lack. Answers
 * the candidates whose alive key is gone here too, or nothing while another live instance holds
 * the lease.
 */
export const CLAIM_LEASE = new Script(`
local me, lease = ARGV[2], P .. 'claimer'
local holder = redis.call('GET', lease)
if holder and holder ~= me and redis.call('EXISTS', P .. 'alive:' .. holder) == 1 then return {} end
redis.call('SET', lease, me, 'PX', ARGV[3])
local out = {}
for i = 4, #ARGV do
  if ARGV[i] ~= me and redis.call('EXISTS', P .. 'alive:' .. ARGV[i]) == 0 then out[#out + 1] = ARGV[i] end
end
return out
`);

/**
 * ARGV: prefix. Takes (deletes and returns, as clientId, will pairs) the wills written by Store
 * instances whose liveness key is gone: atomically, so each is claimed once.
 */
export const CLAIM_ORPHANED_WILLS = new Script(`
local out = {}
for _, writer in ipairs(redis.call('SMEMBERS', WILL_WRITERS)) do
  if redis.call('EXISTS', P .. 'alive:' .. writer) == 0 then
    local set = P .. 'wills:' .. writer
    for _, id in ipairs(redis.call('SMEMBERS', set)) do
      if redis.call('HGET', WILL_OWNER, id) == writer then
        takeWill(id, out)
      end
    end
    redis.call('DEL', set)
    redis.call('SREM', WILL_WRITERS, writer)
  end
end
return out
`);

/**
 * ARGV: prefix, topic. Walks the trie of filter prefixes (hash subs:nodes) level by level: at
 * each node only the literal level, '+' and '#' children are probed, so the cost follows the
 * matching filters, not all filters. Returns clientId, filter, qos, connected ('1' | '0'), the
 * stream entry number when it was last marked connected ('since', '' if unknown) for each match,
 * and unindexes entries whose session expired (the index has no TTL of its own).
 *
 * A session is connected only while the instance recorded as its owner is alive (its alive:<id>
 * key exists): a crashed broker's sessions count as offline, and publishers queue for them again.
 * This is read-only: if the owner was only slow and renews its key, its sessions are connected
 * again. '1' is the marker of versions before owners were recorded, trusted as it is.
 */
export const SUBSCRIPTIONS_BY_TOPIC = new Script(`
local topic = ARGV[2]
local levels = split(topic)
local n = #levels
local dollar = string.sub(topic, 1, 1) == '$'
local found = {}
-- The filters ending at a trie node: the node's own, and the shared subscriptions on it.
local function collect(node)
  if redis.call('EXISTS', P .. 'subs:f:' .. node) == 1 then found[#found + 1] = node end
  for _, f in ipairs(redis.call('SMEMBERS', P .. 'subs:shared:' .. node)) do found[#found + 1] = f end
end
local function step(base, d, nexts)
  -- [MQTT-4.7.2-1] no wildcard matches the first level of a $-topic.
  local wild = not (dollar and d == 0)
  local function join(l) if base == nil then return l end return base .. '/' .. l end
  if wild then collect(join('#')) end
  if d == n then
    if base ~= nil then collect(base) end
    return
  end
  local c = join(levels[d + 1])
  if redis.call('HEXISTS', NODES, c) == 1 then nexts[#nexts + 1] = c end
  if wild then
    local p = join('+')
    if redis.call('HEXISTS', NODES, p) == 1 then nexts[#nexts + 1] = p end
  end
end
local states = {}
step(nil, 0, states)
for d = 1, n do
  if #states == 0 then break end
  local nexts = {}
  for _, s in ipairs(states) do step(s, d, nexts) end
  states = nexts
end
local alive = {}
local function live(owner)
  if owner == '0' or owner == '1' then return owner end
  if alive[owner] == nil then
    alive[owner] = redis.call('EXISTS', P .. 'alive:' .. owner) == 1 and '1' or '0'
  end
  return alive[owner]
end
local out = {}
for _, f in ipairs(found) do
  local entries = redis.call('HGETALL', P .. 'subs:f:' .. f)
  for i = 1, #entries, 2 do
    local id, qos = entries[i], entries[i + 1]
    local connected = redis.call('HGET', K('session', id), 'connected')
    if connected and redis.call('HEXISTS', K('sub', id), f) == 1 then
      out[#out + 1] = id
      out[#out + 1] = f
      out[#out + 1] = qos
      out[#out + 1] = live(connected)
      out[#out + 1] = redis.call('HGET', K('session', id), 'since') or ''
    else
      unindex(id, f)
    end
  end
end
return out
`);

/**
 * ARGV: prefix, clientId, queue key, entry, max, ttl, now. The queue is the list queue:<id> of keys
 * (oldest first) and the hash queued:<id> of key -> entry; the key is the message id, so a message
 * already queued is not queued again (HSETNX), nor one removed from the queue lately (the sorted
 * set removed:<id>, scored by removal time, see REMOVE_QUEUED). Dropped when there is no session,
 * as in memory.
 * Returns {status, dropped}: status 0 when nothing was queued, 1 when queued for a disconnected
 * session, 2 when queued for a session marked connected (whose connection must be told to read its
 * queue); dropped, how many of the oldest entries went to keep at most `max`.
 */
export const ENQUEUE = new Script(`
local id = ARGV[2]
if redis.call('EXISTS', K('session', id)) == 0 then return {0, 0} end
local q, m = K('queue', id), K('queued', id)
local removedAt = redis.call('ZSCORE', K('removed', id), ARGV[3])
if removedAt and tonumber(removedAt) > tonumber(ARGV[7]) - tonumber(ARGV[6]) then return {0, 0} end
if redis.call('HSETNX', m, ARGV[3], ARGV[4]) == 0 then return {0, 0} end
redis.call('RPUSH', q, ARGV[3])
local excess = redis.call('LLEN', q) - tonumber(ARGV[5])
if excess > 0 then
  redis.call('HDEL', m, unpack(redis.call('LRANGE', q, 0, excess - 1)))
  redis.call('LTRIM', q, excess, -1)
else
  excess = 0
end
redis.call('PEXPIRE', q, ARGV[6])
redis.call('PEXPIRE', m, ARGV[6])
if redis.call('HGET', K('session', id), 'connected') == '0' then return {1, excess} end
return {2, excess}
`);

/**
 * ARGV: prefix, clientId, now, limit. The oldest \`limit\` live entries as key, entry pairs, read
 * without removing them; expired entries met on the way are dropped. The expiry is the entry's
 * first 8 bytes (a double).
 */
export const PEEK_QUEUE = new Script(`
local id, now, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', K('session', id)) == 0 then return {} end
local q, m = K('queue', id), K('queued', id)
while true do
  local keys = redis.call('LRANGE', q, 0, limit - 1)
  if #keys == 0 then return {} end
  local entries = redis.call('HMGET', m, unpack(keys))
  local out, expired = {}, {}
  for i, key in ipairs(keys) do
    local entry = entries[i]
    if entry and struct.unpack('>d', entry) > now then
      out[#out + 1] = key
      out[#out + 1] = entry
    else
      expired[#expired + 1] = key
    end
  end
  if #expired == 0 then return out end
  -- Expired entries sit at the head (they were queued first), where LREM finds them at once.
  for _, key in ipairs(expired) do
    redis.call('LREM', q, 1, key)
    redis.call('HDEL', m, key)
  end
end
`);

/**
 * ARGV: prefix, clientId, now, ttl, kept, keys... Removes each queued entry by the key peekQueue
 * gave it, and records the key in removed:<id> (at most \`kept\` of them, each for \`ttl\` ms), where
 * ENQUEUE looks for late duplicates.
 */
export const REMOVE_QUEUED = new Script(`
local q, m, r = K('queue', ARGV[2]), K('queued', ARGV[2]), K('removed', ARGV[2])
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 6, #ARGV do
  if redis.call('HDEL', m, ARGV[i]) == 1 then
    redis.call('LREM', q, 1, ARGV[i])
    redis.call('ZADD', r, now, ARGV[i])
  end
end
redis.call('ZREMRANGEBYSCORE', r, '-inf', now - ttl)
redis.call('ZREMRANGEBYRANK', r, 0, -tonumber(ARGV[5]) - 1)
redis.call('PEXPIRE', r, ttl)
return 1
`);

/**
 * ARGV: prefix, clientId, messageId, entry, now, expiresAt, ttl subscriptions, ttl packets, the
 * message's id ('' for none), how many ids removed:<id> keeps, the calling instance's id, '1' to
 * refuse a message the session already took. A new packet (not a replacement, such as the one
 * released after PUBREC) is refused, with nothing written:
 * - 'elsewhere' when the session is marked connected through another instance: the caller's
 *   connection is an old one, whose client is already back elsewhere and has read its in-flight
 *   packets; the caller queues the message instead (ENQUEUE then tells that connection);
 * - 'had' (when asked) when its message id is in removed:<id>: the session took it already, through
 *   an earlier connection, perhaps on another instance (QoS 2 exactly once across a takeover).
 * Otherwise 'stored', and the message id joins removed:<id> (see REMOVE_QUEUED): a message the
 * session had in flight is not queued for it again, by a publisher that found it offline a
 * moment later or by an instance redoing a dead one's work.
 */
export const PUT_OUTGOING = new Script(`
local id, mid = ARGV[2], ARGV[3]
ensure(id, ARGV[7])
local out, order = K('out', id), K('outorder', id)
local expiry = redis.call('HGET', out, 'e:' .. mid)
if expiry and tonumber(expiry) > tonumber(ARGV[5]) then
  -- A replacement (e.g. released after PUBREC) keeps its first-sent position and expiry.
  redis.call('HSET', out, mid, ARGV[4])
else
  local owner = redis.call('HGET', K('session', id), 'connected')
  if owner and owner ~= '0' and owner ~= '1' and owner ~= ARGV[11] then return 'elsewhere' end
  local r = K('removed', id)
  if ARGV[9] ~= '' then
    if ARGV[12] == '1' then
      local taken = redis.call('ZSCORE', r, ARGV[9])
      if taken and tonumber(taken) > tonumber(ARGV[5]) - tonumber(ARGV[8]) then return 'had' end
    end
    redis.call('ZADD', r, ARGV[5], ARGV[9])
    redis.call('ZREMRANGEBYRANK', r, 0, -tonumber(ARGV[10]) - 1)
    redis.call('PEXPIRE', r, ARGV[8])
  end
  local seq = redis.call('HINCRBY', K('session', id), 'seq', 1)
  redis.call('HSET', out, mid, ARGV[4], 'e:' .. mid, ARGV[6])
  redis.call('ZADD', order, seq, mid)
end
redis.call('PEXPIRE', out, ARGV[8])
redis.call('PEXPIRE', order, ARGV[8])
return 'stored'
`);

/** ARGV: prefix, clientId, messageId */
export const REMOVE_OUTGOING = new Script(`
local out = K('out', ARGV[2])
redis.call('HDEL', out, ARGV[3], 'e:' .. ARGV[3])
redis.call('ZREM', K('outorder', ARGV[2]), ARGV[3])
return 1
`);

/** ARGV: prefix, clientId, now. Entries in first-sent order; expired ones are removed. */
export const GET_OUTGOING = new Script(`
local id, now = ARGV[2], tonumber(ARGV[3])
local out, order = K('out', id), K('outorder', id)
local result = {}
for _, mid in ipairs(redis.call('ZRANGE', order, 0, -1)) do
  local expiry = redis.call('HGET', out, 'e:' .. mid)
  if expiry and tonumber(expiry) > now then
    result[#result + 1] = redis.call('HGET', out, mid)
  else
    redis.call('HDEL', out, mid, 'e:' .. mid)
    redis.call('ZREM', order, mid)
  end
end
return result
`);

/**
 * ARGV: prefix, clientId, messageId, ttl. 1 when new, 0 for a re-send. in:<id> is a hash of packet
 * id → the id of the message routed under it ('' when recorded here; see STREAM_PUBLISH).
 */
export const PUT_INCOMING = new Script(`
local id = ARGV[2]
ensure(id, ARGV[4])
-- Earlier versions kept a set.
if redis.call('TYPE', K('in', id)).ok == 'set' then redis.call('DEL', K('in', id)) end
return redis.call('HSETNX', K('in', id), ARGV[3], '')
`);

/** ARGV: prefix, clientId, messageId. */
export const REMOVE_INCOMING = new Script(`
if redis.call('TYPE', K('in', ARGV[2])).ok == 'set' then return redis.call('SREM', K('in', ARGV[2]), ARGV[3]) end
return redis.call('HDEL', K('in', ARGV[2]), ARGV[3])
`);

/** ARGV: prefix, topic, first level, encoded message or '' to delete. */
export const STORE_RETAINED = new Script(`
local topic, level, value, maxCount, expiresAt = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local byLevel = P .. 'retained:l:' .. level
if value == '' then
  forgetRetained(topic, level)
else
  if maxCount and redis.call('HLEN', P .. 'retained') >= maxCount and redis.call('HEXISTS', P .. 'retained', topic) == 0 then return 0 end
  redis.call('HSET', P .. 'retained', topic, value)
  redis.call('SADD', byLevel, topic)
  redis.call('SADD', P .. 'retained:levels', level)
  if expiresAt then redis.call('ZADD', RETAINED_EXPIRING, expiresAt, topic) else redis.call('ZREM', RETAINED_EXPIRING, topic) end
end
return 1
`);

/**
 * ARGV: prefix, now (ms, the brokers' clock: expiry times are stamped with it), topics... Removes
 * the retained messages of the topics given (when none is given, up to 1000 of those expired) that
 * are expired at that time: a message stored since, without an expiry or with a later one, stays.
 */
export const REMOVE_EXPIRED_RETAINED = new Script(`
local now = tonumber(ARGV[2])
local topics = {}
if #ARGV > 2 then
  for i = 3, #ARGV do topics[#topics + 1] = ARGV[i] end
else
  topics = redis.call('ZRANGEBYSCORE', RETAINED_EXPIRING, '-inf', now, 'LIMIT', 0, 1000)
end
local removed = 0
for _, topic in ipairs(topics) do
  local expiresAt = redis.call('ZSCORE', RETAINED_EXPIRING, topic)
  if expiresAt and tonumber(expiresAt) <= now then
    local slash = string.find(topic, '/', 1, true)
    forgetRetained(topic, slash and string.sub(topic, 1, slash - 1) or topic)
    removed = removed + 1
  end
end
return removed
`);

export type ScriptArg = string | Buffer | number;

/**
 * Runs a script by its SHA, loading it on NOSCRIPT (a restarted or failed-over Redis has an
 * empty script cache). `binary` returns bulk replies as Buffers instead of strings.
 */
export async function runScript(client: Client, script: Script, key: string, args: readonly ScriptArg[], binary = false): Promise<unknown> {
  const send = (command: 'EVALSHA' | 'EVAL', first: string): Promise<unknown> =>
    binary ? client.callBuffer(command, first, 1, key, ...args) : client.call(command, first, 1, key, ...args);
  try {
    return await send('EVALSHA', script.sha);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
    return send('EVAL', script.source);
  }
}

/**
 * Emitter. KEYS[1]: the stream; ARGV: max length, instance id, then each message in the order the
 * instance published it: its sequence number and the encoded message; for a QoS 2 message a
 * durable session sent (Emitter.publishOnce) the number is marked with a leading '-' and three
 * more follow: the session's incoming hash (the Store's in:<clientId>, same prefix), the packet
 * id and the message id. (Two arguments for the usual message: a batch's arguments are most of
 * its cost, in Redis and in the broker.)
 *
 * Each message is one entry. Entries are numbered 1, 2, 3... across all instances (counter
 * `<stream>:n`, same slot on Cluster since the key starts with the prefix's hash tag), atomically
 * with the XADD: a reader that sees n jump knows exactly how many entries were trimmed before it
 * could read them. Per message the reply holds two values: 1 and n.
 *
 * A packet id is recorded with the message id in the step that adds the entry, unless it is
 * recorded already (the PUBLISH re-sent, perhaps to another instance after the first one died):
 * nothing is added then, and the reply holds 0 and the recorded message id. So such a message is
 * sent once, and never lost between recording and sending. Run with EVAL (StreamWriter), so that a
 * script cache emptied by a Redis restart cannot reorder an instance's entries.
 */
export const STREAM_PUBLISH = new Script(
  `local out = {}
local i = 3
while i <= #ARGV do
  local seq = ARGV[i]
  local previous = false
  local step = 2
  if string.byte(seq, 1) == 45 then
    seq = string.sub(seq, 2)
    step = 5
    previous = redis.call('HGET', ARGV[i + 2], ARGV[i + 3])
    if not previous then redis.call('HSET', ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]) end
  end
  if previous then
    out[#out + 1] = 0
    out[#out + 1] = previous
  else
    local n = redis.call('INCR', KEYS[1] .. ':n')
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'n', n, 'i', ARGV[2], 's', seq, 'm', ARGV[i + 1])
    out[#out + 1] = 1
    out[#out + 1] = n
  end
  i = i + step
end
return out`,
  false,
);

/**
 * Emitter. KEYS[1]: the stream; ARGV: the reader's instance id. The last entry's id ('0-0' if
 * none) and the counter, together; the reader's committed position (`<stream>:pos:<id>`, see
 * CLAIM_DEAD_INSTANCES) starts there.
 */
export const STREAM_END = new Script(
  `local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local id = '0-0'
if last[1] then id = last[1][1] end
redis.call('SET', KEYS[1] .. ':pos:' .. ARGV[1], id)
return {id, redis.call('GET', KEYS[1] .. ':n') or '0'}`,
  false,
);

/**
 * Records. KEYS[1]: the record's key; ARGV: prefix, collection, key, value, time to live in ms
 * ('0': none, '-1': already expired, so deleted). The collection's sorted set (all scores 0)
 * orders its keys by their bytes, for listing.
 */
export const PUT_RECORD = new Script(`
local rk = P .. 'rec:' .. ARGV[2] .. ':' .. ARGV[3]
local index = P .. 'recs:' .. ARGV[2]
if ARGV[5] == '-1' then
  redis.call('DEL', rk)
  redis.call('ZREM', index, ARGV[3])
  return 0
end
if ARGV[5] == '0' then redis.call('SET', rk, ARGV[4]) else redis.call('SET', rk, ARGV[4], 'PX', ARGV[5]) end
redis.call('ZADD', index, 0, ARGV[3])
return 1
`);

/** Records. ARGV: prefix, collection, key1, key2, ... Returns how many existed. */
export const DELETE_RECORDS = new Script(`
local n = 0
for i = 3, #ARGV do
  n = n + redis.call('DEL', P .. 'rec:' .. ARGV[2] .. ':' .. ARGV[i])
  redis.call('ZREM', P .. 'recs:' .. ARGV[2], ARGV[i])
end
return n
`);

/**
 * Records. ARGV: prefix, collection, ZRANGEBYLEX start ('[prefix' or '(after'), limit, prefix.
 * Returns key1, value1, key2, value2, ...; index entries of expired records are removed on the way.
 */
export const LIST_RECORDS = new Script(`
local index = P .. 'recs:' .. ARGV[2]
local base = P .. 'rec:' .. ARGV[2] .. ':'
local start, limit, prefix = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local out = {}
while true do
  local keys = redis.call('ZRANGEBYLEX', index, start, '+', 'LIMIT', 0, 100)
  if #keys == 0 then return out end
  for _, k in ipairs(keys) do
    if string.sub(k, 1, #prefix) ~= prefix then return out end
    local v = redis.call('GET', base .. k)
    if v then
      out[#out + 1] = k
      out[#out + 1] = v
      if #out >= limit * 2 then return out end
    else
      redis.call('ZREM', index, k)
    end
  end
  start = '(' .. keys[#keys]
end
`);

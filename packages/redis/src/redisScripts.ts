import type Redis from 'ioredis';

/*
 * The broker's writes and resume reads are Lua scripts so each runs atomically: an append,
 * its trim and its live fan-out can't interleave with another node's, and a resume check can't
 * be invalidated by a trim between its steps.
 */

/**
 * Appends an event, trims by count and by age (never the new entry), records the newest
 * trimmed id as the stream's `max-deleted-entry-id` (Redis 7.0 sets it for XDEL only, and
 * resume checks need it), refreshes the key's TTL and publishes
 * `d\n<id>\n<previous id>\n<payload>`: the previous id lets every node notice a message it
 * missed on the live channel and catch up from the log.
 * KEYS[1] stream; ARGV payload, maxlen (0: no count limit), oldest kept ms (0: no age limit),
 * ttl ms (0: no expiry), live channel.
 *
 * Every step costs the same whatever the log's length, because Redis runs one script at a time
 * and a slow publish stalls every channel and presence with it. The age check looks at the
 * oldest entry only: an `XREVRANGE` from a bound older than every entry finds no node to start
 * from and walks the whole stream backwards (6.3 ms a publish at 100k entries), so it is run
 * only once the oldest entry is known to be old enough, when it stops within a node or two.
 * (Trimming by count reads the entries it drops to find the newest: one a publish, except once
 * after `maxEventsPerChannel` is lowered.)
 */
const append = `
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function newer(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am > bm or (am == bm and as > bs)
end
local prev = '0-0'
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then prev = last[1][1] end
local id = redis.call('XADD', KEYS[1], '*', 'd', ARGV[1])
local cut = nil
local maxlen = tonumber(ARGV[2])
if maxlen > 0 then
  local excess = redis.call('XLEN', KEYS[1]) - maxlen
  if excess > 0 then
    local dropped = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
    cut = dropped[#dropped][1]
  end
end
local oldest = tonumber(ARGV[3])
if oldest > 0 then
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1]
  if first ~= id and parse(first) < oldest then
    local bound = '(' .. ARGV[3] .. '-0'
    if parse(id) < oldest then bound = '(' .. id end
    local aged = redis.call('XREVRANGE', KEYS[1], bound, '-', 'COUNT', 1)
    if aged[1] and (cut == nil or newer(aged[1][1], cut)) then cut = aged[1][1] end
  end
end
if cut then
  local ms, seq = string.match(cut, '^(%d+)-(%d+)$')
  redis.call('XTRIM', KEYS[1], 'MINID', ms .. '-' .. string.format('%d', tonumber(seq) + 1))
  redis.call('XSETID', KEYS[1], id, 'MAXDELETEDID', cut)
end
if tonumber(ARGV[4]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
else
  redis.call('PERSIST', KEYS[1])
end
redis.call('PUBLISH', ARGV[5], 'd\\n' .. id .. '\\n' .. prev .. '\\n' .. ARGV[1])
return id
`;

/**
 * Publishes a live-only event as `e\n<newest logged id>~<suffix>\n<newest logged id>\n<payload>`.
 * KEYS[1] stream; ARGV payload, id suffix, live channel.
 */
const publishEphemeral = `
local base = '0-0'
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then base = last[1][1] end
local id = base .. '~' .. ARGV[2]
redis.call('PUBLISH', ARGV[3], 'e\\n' .. id .. '\\n' .. base .. '\\n' .. ARGV[1])
return id
`;

/**
 * Reads up to ARGV[2] entries after ARGV[1], if resuming after it loses nothing: ARGV[1] is
 * the newest trimmed id (nothing in between was lost) or a retained entry. Otherwise reads from
 * the newest trimmed id instead, in the same step: read apart, a publish trimming in between
 * would move that id on and make every reader report one more gap before it caught up.
 * Returns `{ newest trimmed id, 1 | 0 (resumable from ARGV[1]), entries }`; a missing key has
 * trimmed nothing and only `0-0` resumes from it.
 */
const readAfter = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[1] == '0-0' then return {'0-0', 1, {}} end
  return {'0-0', 0, {}}
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local trimmed = '0-0'
for i = 1, #info, 2 do
  if info[i] == 'max-deleted-entry-id' then trimmed = info[i + 1] end
end
local from = ARGV[1]
local resumable = 1
if from ~= trimmed and #redis.call('XRANGE', KEYS[1], from, from) == 0 then
  from = trimmed
  resumable = 0
end
return {trimmed, resumable, redis.call('XRANGE', KEYS[1], '(' .. from, '+', 'COUNT', ARGV[2])}
`;

/** The newest entry id, or `0-0` when the channel has none. KEYS[1] stream. */
const head = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then return last[1][1] end
return '0-0'
`;

/** A stream entry as XRANGE returns it: `[id, [field, value, ...]]`. */
export type StreamEntry = [id: string, fields: string[]];

/** The scripts, as commands on a connection. */
export interface BrokerScripts {
  duplexAppend(
    stream: string,
    payload: string,
    maxLen: number,
    oldestMs: number,
    ttlMs: number,
    live: string,
  ): Promise<string>;
  duplexEphemeral(stream: string, payload: string, suffix: string, live: string): Promise<string>;
  duplexReadAfter(
    stream: string,
    after: string,
    count: number,
  ): Promise<[trimmed: string, resumable: 0 | 1, entries: StreamEntry[]]>;
  duplexHead(stream: string): Promise<string>;
}

/** Registers the scripts on a connection (loaded once, then run by SHA). */
export function defineBrokerScripts(redis: Redis): Redis & BrokerScripts {
  redis.defineCommand('duplexAppend', { numberOfKeys: 1, lua: append });
  redis.defineCommand('duplexEphemeral', { numberOfKeys: 1, lua: publishEphemeral });
  redis.defineCommand('duplexReadAfter', { numberOfKeys: 1, lua: readAfter });
  redis.defineCommand('duplexHead', { numberOfKeys: 1, lua: head });
  return redis as Redis & BrokerScripts;
}

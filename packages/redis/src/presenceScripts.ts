import type Redis from 'ioredis';

/*
 * Presence lives in one hash per channel: field `<node id>\n<connection id>`, value
 * `{"s": arrival order, "m": member}`. A node is alive while its heartbeat key exists; entries
 * of dead nodes are deleted by whichever node reads the channel next. Scripts keep "first" and
 * "last" exact when tabs of one member join and leave on different nodes at once.
 */

/** Shared by the scripts: drops dead nodes' entries, returns the live ones as {field, value}. */
const liveEntries = `
local alive = {}
local function live(field)
  local node = string.match(field, '^([^\\n]*)\\n')
  if alive[node] == nil then alive[node] = redis.call('EXISTS', ARGV[1] .. node) == 1 end
  return alive[node]
end
local entries = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if live(all[i]) then
    entries[#entries + 1] = {all[i], all[i + 1]}
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
local function holds(entry, memberId, except)
  return entry[1] ~= except and cjson.decode(entry[2]).m.id == memberId
end
`;

/**
 * KEYS[1] channel hash, KEYS[2] arrival counter; ARGV node key prefix, field, member JSON,
 * member id, ttl ms. Returns `{1 when no other live connection holds the member, arrival order}`.
 */
const join = `${liveEntries}
local first = 1
for _, entry in ipairs(entries) do
  if holds(entry, ARGV[4], ARGV[2]) then first = 0 end
end
local order = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[2], '{"s":' .. order .. ',"m":' .. ARGV[3] .. '}')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {first, order}
`;

/** KEYS[1] channel hash; ARGV node key prefix, field, member id. Returns 1 if it was the last. */
const leave = `
redis.call('HDEL', KEYS[1], ARGV[2])
${liveEntries}
for _, entry in ipairs(entries) do
  if holds(entry, ARGV[3], ARGV[2]) then return 0 end
end
return 1
`;

/** KEYS[1] channel hash; ARGV node key prefix. Returns the live entries' values. */
const members = `${liveEntries}
local values = {}
for _, entry in ipairs(entries) do values[#values + 1] = entry[2] end
return values
`;

/** The scripts, as commands on a connection. */
export interface PresenceScripts {
  duplexPresenceJoin(
    hash: string,
    counter: string,
    nodePrefix: string,
    field: string,
    member: string,
    memberId: string,
    ttlMs: number,
  ): Promise<[first: 0 | 1, order: number]>;
  duplexPresenceLeave(
    hash: string,
    nodePrefix: string,
    field: string,
    memberId: string,
  ): Promise<0 | 1>;
  duplexPresenceMembers(hash: string, nodePrefix: string): Promise<string[]>;
}

/** Registers the scripts on a connection. */
export function definePresenceScripts(redis: Redis): Redis & PresenceScripts {
  redis.defineCommand('duplexPresenceJoin', { numberOfKeys: 2, lua: join });
  redis.defineCommand('duplexPresenceLeave', { numberOfKeys: 1, lua: leave });
  redis.defineCommand('duplexPresenceMembers', { numberOfKeys: 1, lua: members });
  return redis as Redis & PresenceScripts;
}

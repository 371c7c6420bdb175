-- audit-entry: what every script that changes an audited record shares. Included (not called: Redis
-- scripts cannot load one another) by `-- @include audit-entry`, see src/scripts.ts.
-- ARGV[1..5] at, actor, action, object, data of the entry. The entry goes, unsealed, into an
-- append-only stream in the same slot as the change; the sealer later gives it its seq, prev and
-- hash (src/audit-sealer.ts). No writer reads or writes the chain head, so writers never contend on it.
-- The check runs before the first write, because Redis does not roll back a script that fails half-way.
local function auditWritable(key)
  local t = redis.call('TYPE', key).ok
  if t ~= 'stream' and t ~= 'none' then return redis.error_reply('AUDIT_LOG_WRONGTYPE the unsealed audit stream key holds a ' .. t) end
  return true
end
local function appendEntry(key)
  return redis.call('XADD', key, '*', 'at', ARGV[1], 'actor', ARGV[2], 'action', ARGV[3], 'object', ARGV[4], 'data', ARGV[5])
end
-- SHA-1 of a record as stored, '' when absent: what a compare-and-set compares.
local function versionOf(key)
  local current = redis.call('GET', key)
  if not current then return '' end
  return redis.sha1hex(current)
end
-- For a script that writes several entries: the five fields at ARGV[offset + 1 .. offset + 5].
local function appendEntryAt(key, offset)
  return redis.call('XADD', key, '*', 'at', ARGV[offset + 1], 'actor', ARGV[offset + 2], 'action', ARGV[offset + 3], 'object', ARGV[offset + 4], 'data', ARGV[offset + 5])
end

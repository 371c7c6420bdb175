-- audit-entry: what every script that changes an audited record shares (inlined where a script says
-- `-- @include audit-entry`, see src/scripts.ts). The entry goes, unsealed, into an append-only stream
-- in the same slot as the change; the sealer later gives it its seq, prev and hash
-- (src/audit-sealer.ts). No writer reads or writes the chain head, so writers never contend on it.

-- True when `key` can take an entry, else the error reply to return. Checked before the first write,
-- because Redis does not roll back a script that fails half-way.
local function auditWritable(key)
  local t = redis.call('TYPE', key).ok
  if t ~= 'stream' and t ~= 'none' then return redis.error_reply('AUDIT_LOG_WRONGTYPE the unsealed audit stream key holds a ' .. t) end
  return true
end

-- Appends the entry (its fields as src/audit.ts write() made them) to the unsealed stream `key`.
local function appendEntry(key, at, actor, action, object, data)
  return redis.call('XADD', key, '*', 'at', at, 'actor', actor, 'action', action, 'object', object, 'data', data)
end

-- SHA-1 of a record as stored, '' when absent: what a compare-and-set compares.
local function versionOf(key)
  local current = redis.call('GET', key)
  if not current then return '' end
  return redis.sha1hex(current)
end

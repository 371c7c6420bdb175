-- audit-chain: the two steps every script that changes an audited record shares. Included (not
-- called: Redis scripts cannot load one another) by `-- @include audit-chain`, see src/scripts.ts.
-- ARGV[1] the audit head the writer read ("<seq> <hash>", '' for none); ARGV[2..9] seq, at, actor,
-- action, object, data, prev, hash of the new entry; ARGV[10] the MINID to trim to, '0' for none.
-- The audit entry goes first: if it cannot be written, nothing else is. Every check that can refuse
-- runs before the first write, because Redis does not roll back a script that fails half-way.
local function audit(logKey, headKey)
  local head = redis.call('GET', headKey) or ''
  if head ~= ARGV[1] then return false end
  local t = redis.call('TYPE', logKey).ok
  if t ~= 'stream' and t ~= 'none' then return redis.error_reply('AUDIT_LOG_WRONGTYPE the audit log key holds a ' .. t) end
  return true
end
local function appendAudit(logKey, headKey)
  redis.call('XADD', logKey, '*', 'seq', ARGV[2], 'at', ARGV[3], 'actor', ARGV[4], 'action', ARGV[5],
    'object', ARGV[6], 'data', ARGV[7], 'prev', ARGV[8], 'hash', ARGV[9])
  redis.call('SET', headKey, ARGV[2] .. ' ' .. ARGV[9])
  if ARGV[10] ~= '0' then redis.call('XTRIM', logKey, 'MINID', ARGV[10]) end
end

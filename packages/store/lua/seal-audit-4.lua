--[[
  seal-audit-4: moves a run of unsealed audit entries, oldest first, into the hash-chained log with
  the seq, prev and hash the sealer computed, if the caller still holds the sealer's lease and the
  chain head is the one it read; removes them from the unsealed stream; moves the head; trims the
  log past its retention. All of it or nothing, so a sealer that crashes at any point leaves either
  the run unsealed (sealed again by the next) or sealed (the head moved past it): resumable and
  idempotent.

  Lua in Redis has no SHA-256, so the caller (src/audit-sealer.ts) computes each hash over the
  fields as stored; an unsealed entry never changes, so its fields are copied here as they are.
  A sealed entry keeps the stream id of its unsealed one (the time it was written) when that id is
  past the log's last; otherwise (a log written before unsealed entries existed) Redis assigns one.
  All keys share the {alerts} hash tag.

  KEYS[1] log       STREAM  the sealed, hash-chained audit log
  KEYS[2] head      STRING  "<seq> <hash>" of the newest sealed entry
  KEYS[3] unsealed  STREAM  entries waiting to be sealed
  KEYS[4] lease     STRING  the sealer's lease: its owner's token
  ARGV[1]  the caller's lease token
  ARGV[2]  the head as the caller read it ('' for an empty log)
  ARGV[3]  retention: trim log entries older than this stream id (MINID), or 0 to keep everything
  ARGV[4..] per entry, four values: unsealed stream id, seq, prev, hash

  Returns: the number of entries sealed; or (src/reply-codes.ts) -4 (not_leaseholder) when the lease
           is not the caller's, -2 (stale) when the head moved, -3 (entry_gone) when an entry is no
           longer unsealed (nothing written in each case).
  Errors: AUDIT_LOG_WRONGTYPE when the log key is not a stream (nothing written).
]]
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return -4 end
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then return -2 end
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'stream' and t ~= 'none' then return redis.error_reply('AUDIT_LOG_WRONGTYPE the audit log key holds a ' .. t) end

local fields = {}
for i = 4, #ARGV, 4 do
  local found = redis.call('XRANGE', KEYS[3], ARGV[i], ARGV[i])
  if #found == 0 then return -3 end
  local f = {}
  local flat = found[1][2]
  for j = 1, #flat, 2 do f[flat[j]] = flat[j + 1] end
  fields[#fields + 1] = f
end
if #fields == 0 then return 0 end

-- Stream ids "<ms>-<n>": a after b?
local function after(a, b)
  local am, an = string.match(a, '^(%d+)-(%d+)$')
  local bm, bn = string.match(b, '^(%d+)-(%d+)$')
  am, an, bm, bn = tonumber(am), tonumber(an), tonumber(bm), tonumber(bn)
  return am > bm or (am == bm and an > bn)
end
local reuse = true
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 and not after(ARGV[4], last[1][1]) then reuse = false end

local n = 0
local seq, hash
for i = 4, #ARGV, 4 do
  n = n + 1
  local f = fields[n]
  seq, hash = ARGV[i + 1], ARGV[i + 3]
  redis.call('XADD', KEYS[1], reuse and ARGV[i] or '*', 'seq', seq, 'at', f.at, 'actor', f.actor, 'action', f.action,
    'object', f.object, 'data', f.data, 'prev', ARGV[i + 2], 'hash', hash)
  redis.call('XDEL', KEYS[3], ARGV[i])
end
redis.call('SET', KEYS[2], seq .. ' ' .. hash)
if ARGV[3] ~= '0' then redis.call('XTRIM', KEYS[1], 'MINID', ARGV[3]) end
return n

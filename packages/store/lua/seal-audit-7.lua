--[[
  seal-audit-7: moves a run of unsealed audit entries, oldest first, into the hash-chained log with
  the seq, prev, hash, key id and MAC the sealer computed, if the caller still holds the sealer's
  lease and the chain head is the one it read; removes them from the unsealed stream; copies them to
  the publication outbox (read by the publisher that sends them to Kafka); moves the head; trims the
  log up to a given entry, recording the floor it trimmed to. All of it or nothing, so a sealer that
  crashes at any point leaves either the run unsealed (sealed again by the next) or sealed (the head
  moved past it): resumable and idempotent.

  Lua in Redis has no SHA-256 or HMAC, so the caller (src/audit.ts) computes each hash and MAC over
  the fields as stored; an unsealed entry never changes, so its fields are copied here as they are.
  A sealed entry keeps the stream id of its unsealed one (the time it was written) when that id is
  past the log's last; otherwise (a log written before unsealed entries existed) Redis assigns one.
  Each sealed entry of a case (object `case:<id>`) is also listed in that case's index of entries,
  `<KEYS[7]>:<case id>` (ZSET sealed stream id → seq), so a case page reads its own entries however
  long the log. All keys share the {alerts} hash tag.

  KEYS[1] log       STREAM  the sealed, hash-chained audit log
  KEYS[2] head      STRING  "<seq> <hash>" of the newest sealed entry
  KEYS[3] unsealed  STREAM  entries waiting to be sealed
  KEYS[4] lease     STRING  the sealer's lease: its owner's token
  KEYS[5] floor     STRING  "<seq> <hash> <kid> <mac>" of the last entry trimmed by retention
  KEYS[6] outbox    STREAM  sealed entries waiting to be published (same fields plus logid)
  KEYS[7] case entries prefix  the per-case indexes of entries are `<KEYS[7]>:<case id>`
  ARGV[1]  the caller's lease token
  ARGV[2]  the head as the caller read it ('' for an empty log)
  ARGV[3]  '1' to copy the sealed entries to the outbox, '0' not to (nothing publishes them)
  ARGV[4]  retention: the stream id of the newest log entry to trim, or '' to trim nothing
  ARGV[5]  that entry's seq (it is trimmed only if it still carries it)
  ARGV[6]  the floor to record when it is trimmed
  ARGV[7]  the smallest stream id to keep (the one right after ARGV[4]: XTRIM MINID)
  ARGV[8..] per entry, six values: unsealed stream id, seq, prev, hash, key id, MAC ('' unkeyed)

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
for i = 8, #ARGV, 6 do
  local found = redis.call('XRANGE', KEYS[3], ARGV[i], ARGV[i])
  if #found == 0 then return -3 end
  local f = {}
  local flat = found[1][2]
  for j = 1, #flat, 2 do f[flat[j]] = flat[j + 1] end
  fields[#fields + 1] = f
end

-- Stream ids "<ms>-<n>": a after b?
local function after(a, b)
  local am, an = string.match(a, '^(%d+)-(%d+)$')
  local bm, bn = string.match(b, '^(%d+)-(%d+)$')
  am, an, bm, bn = tonumber(am), tonumber(an), tonumber(bm), tonumber(bn)
  return am > bm or (am == bm and an > bn)
end

local n = 0
if #fields > 0 then
  local reuse = true
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last > 0 and not after(ARGV[8], last[1][1]) then reuse = false end
  local seq, hash
  for i = 8, #ARGV, 6 do
    n = n + 1
    local f = fields[n]
    seq, hash = ARGV[i + 1], ARGV[i + 3]
    local entry = { 'seq', seq, 'at', f.at, 'actor', f.actor, 'action', f.action, 'object', f.object, 'data', f.data, 'prev', ARGV[i + 2], 'hash', hash }
    if ARGV[i + 5] ~= '' then
      entry[#entry + 1] = 'kid'
      entry[#entry + 1] = ARGV[i + 4]
      entry[#entry + 1] = 'mac'
      entry[#entry + 1] = ARGV[i + 5]
    end
    local id = redis.call('XADD', KEYS[1], reuse and ARGV[i] or '*', unpack(entry))
    if ARGV[3] == '1' then
      entry[#entry + 1] = 'logid'
      entry[#entry + 1] = id
      redis.call('XADD', KEYS[6], '*', unpack(entry))
    end
    redis.call('XDEL', KEYS[3], ARGV[i])
    if string.sub(f.object, 1, 5) == 'case:' then redis.call('ZADD', KEYS[7] .. ':' .. string.sub(f.object, 6), seq, id) end
  end
  redis.call('SET', KEYS[2], seq .. ' ' .. hash)
end

if ARGV[4] ~= '' then
  local oldest = redis.call('XRANGE', KEYS[1], ARGV[4], ARGV[4])
  if #oldest == 1 then
    local flat = oldest[1][2]
    for j = 1, #flat, 2 do
      if flat[j] == 'seq' and flat[j + 1] == ARGV[5] then
        redis.call('SET', KEYS[5], ARGV[6])
        redis.call('XTRIM', KEYS[1], 'MINID', ARGV[7])
      end
    end
  end
end
return n

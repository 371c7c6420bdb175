--[[
  move-case-6n: writes a case (with its queue indexes and counters, includes/case-index.lua) and its
  alerts as one change, each only if it is still the version the
  caller read, with an `alert.updated` outbox entry for every alert changed and the audit entry of
  every record changed (unsealed), atomically: a case and its alerts never disagree, whatever crash
  or conflict happens around the call (src/case-moves.ts).

  The caller reads the case and all its alerts, computes the new texts and sends, for each alert, the
  SHA-1 of the text it read; an alert sent without a new text is only checked, so a decision that
  depends on the other alerts (the last open one closes the case) is never taken on a stale read.
  Texts are stored as sent, never re-encoded by Lua. Every check runs before the first write, because
  Redis does not roll back a script that fails half-way. A case has one alert per level reached, so
  its alerts fit one call. All keys share the {alerts} hash tag.

  6 fixed keys, then one per alert (declared as `restKeys`: src/scripts.ts passes their number first).
  KEYS[1]   case        STRING  the case (JSON)
  KEYS[2]   case index  ZSET    case id → openedAt (epoch ms)
  KEYS[3]   outbox      STREAM  gets { id = <alert id>, type = 'alert.updated' } per alert changed
  KEYS[4]   unsealed    STREAM  audit entries waiting for the sealer
  KEYS[5]   case entries HASH   case id → its index entry (JSON), see includes/case-index.lua
  KEYS[6]   case counts  HASH   counters of the case queue
  KEYS[6+i] alert i     STRING  (JSON)
  ARGV[1]  case id
  ARGV[2]  SHA-1 (hex) of the case as the caller read it
  ARGV[3]  the new case (JSON), or '' to leave the case as it is (its version is still checked)
  ARGV[4]  case openedAt (epoch ms)
  ARGV[5..9] at, actor, action, object, data of the case's audit entry (unused when ARGV[3] is '')
  ARGV[10] the new case's index entry (JSON, src/case-index.ts; unused when ARGV[3] is '')
  Then 8 values per alert i, from b = 11 + 8 (i - 1):
  ARGV[b]   alert id
  ARGV[b+1] SHA-1 (hex) of the alert as the caller read it, '' when it did not exist
  ARGV[b+2] the new alert (JSON), or '' to only check it
  ARGV[b+3..b+7] at, actor, action, object, data of the alert's audit entry

  Returns (src/reply-codes.ts): 1 (done) when written, -1 (not_found) when the case does not exist,
           -2 (stale) when the case or one of the alerts changed since it was read (nothing written
           in each case but 1; re-read, retry).
  Errors: AUDIT_LOG_WRONGTYPE, OUTBOX_WRONGTYPE, CASE_INDEX_WRONGTYPE when a stream or the index key
          holds another type (nothing written).
]]
-- @include audit-entry
-- @include case-index
local version = versionOf(KEYS[1])
if version == '' then return -1 end
if version ~= ARGV[2] then return -2 end
local alerts = #KEYS - 6
for i = 1, alerts do
  if versionOf(KEYS[6 + i]) ~= ARGV[11 + 8 * (i - 1) + 1] then return -2 end
end
local outbox = redis.call('TYPE', KEYS[3]).ok
if outbox ~= 'stream' and outbox ~= 'none' then return redis.error_reply('OUTBOX_WRONGTYPE the alert outbox key holds a ' .. outbox) end
local index = redis.call('TYPE', KEYS[2]).ok
if index ~= 'zset' and index ~= 'none' then return redis.error_reply('CASE_INDEX_WRONGTYPE the case index key holds a ' .. index) end
local ok = auditWritable(KEYS[4])
if ok ~= true then return ok end
if ARGV[3] ~= '' then
  appendEntry(KEYS[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
  redis.call('SET', KEYS[1], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
  indexCase(KEYS[2], KEYS[5], KEYS[6], ARGV[10])
end
for i = 1, alerts do
  local b = 11 + 8 * (i - 1)
  if ARGV[b + 2] ~= '' then
    appendEntry(KEYS[4], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], ARGV[b + 7])
    redis.call('SET', KEYS[6 + i], ARGV[b + 2])
    -- Never trimmed here: the notifier deletes entries once delivered (see raise-alert-8.lua).
    redis.call('XADD', KEYS[3], '*', 'id', ARGV[b], 'type', 'alert.updated')
  end
end
return 1

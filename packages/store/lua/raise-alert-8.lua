--[[
  raise-alert-8: creates an alert once, puts it in the outbox, opens or escalates its case (with the
  case's queue indexes and counters, includes/case-index.lua) and appends the audit entry of that
  case change (unsealed), atomically.

  An alert's id is deterministic (rule + scope + subject + level), so however many times a crossing
  is detected — retried batches, two ingest instances, a replay — the alert exists once and is
  delivered once. Its case (rule + scope + subject) is computed by the caller from the case as it
  read it; the case's own version (SHA-1 of its text) guards that read, so a case is never
  overwritten by a stale copy. Only raises of the same case can conflict: raising many alerts at
  once scales with their number. All keys share the {alerts} hash tag.

  KEYS[1] record      STRING  the alert (JSON)
  KEYS[2] outbox      STREAM  entries { id = <alert id>, type = 'alert.raised' } for the notifier
  KEYS[3] index       ZSET    alert id → raisedAt (epoch ms)
  KEYS[4] case        STRING  the case (JSON)
  KEYS[5] case index  ZSET    case id → openedAt (epoch ms)
  KEYS[6] unsealed    STREAM  audit entries waiting for the sealer
  KEYS[7] case entries HASH   case id → its index entry (JSON), see includes/case-index.lua
  KEYS[8] case counts  HASH   counters of the case queue
  ARGV[1..5] at, actor, action, object, data of the audit entry (see includes/audit-entry.lua)
  ARGV[6]  alert id
  ARGV[7]  alert JSON
  ARGV[8]  raisedAt (epoch ms)
  ARGV[9]  case id
  ARGV[10] case JSON (the case after this alert)
  ARGV[11] case openedAt (epoch ms)
  ARGV[12] SHA-1 (hex) of the case as the caller read it, '' when there was none
  ARGV[13] the case's index entry (JSON, src/case-index.ts)

  The outbox is never trimmed here: an entry leaves it only when the notifier has delivered it
  (XACK + XDEL), so a long notifier outage delays alerts but loses none.

  Returns (src/reply-codes.ts): 1 (done) when the alert was created, 0 (noop) when it already existed
           (nothing written), -2 (stale) when the case changed since it was read (nothing written;
           re-read the case, retry).
  Errors: AUDIT_LOG_WRONGTYPE when the unsealed stream key is not a stream (nothing written).
]]
-- @include audit-entry
-- @include case-index
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if versionOf(KEYS[4]) ~= ARGV[12] then return -2 end
local ok = auditWritable(KEYS[6])
if ok ~= true then return ok end
appendEntry(KEYS[6], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
redis.call('SET', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[3], ARGV[8], ARGV[6])
redis.call('XADD', KEYS[2], '*', 'id', ARGV[6], 'type', 'alert.raised')
redis.call('SET', KEYS[4], ARGV[10])
redis.call('ZADD', KEYS[5], ARGV[11], ARGV[9])
indexCase(KEYS[5], KEYS[7], KEYS[8], ARGV[13])
return 1

--[[
  raise-alert-7: creates an alert once, puts it in the outbox, opens or escalates its case and writes
  the audit entry of that case change, atomically.

  An alert's id is deterministic (rule + scope + subject + level), so however many times a crossing
  is detected — retried batches, two ingest instances, a replay — the alert exists once and is
  delivered once. Its case (rule + scope + subject) is computed by the caller from the case as it
  read it; the audit chain head guards that read (every case change moves the head), so a case is
  never overwritten by a stale copy. All keys share the {alerts} hash tag.

  KEYS[1] record      STRING  the alert (JSON)
  KEYS[2] outbox      STREAM  entries { id = <alert id>, type = 'alert.raised' } for the notifier
  KEYS[3] index       ZSET    alert id → raisedAt (epoch ms)
  KEYS[4] case        STRING  the case (JSON)
  KEYS[5] case index  ZSET    case id → openedAt (epoch ms)
  KEYS[6] audit log   STREAM  the hash-chained audit log
  KEYS[7] audit head  STRING  "<seq> <hash>" of the newest audit entry
  ARGV[1]  chain head as the caller read it ("<seq> <hash>", or "" for an empty log)
  ARGV[2]  seq of the new entry (head seq + 1)
  ARGV[3]  at (RFC 3339)
  ARGV[4]  actor
  ARGV[5]  action, e.g. case.assign
  ARGV[6]  object, e.g. case:cs_…
  ARGV[7]  data (JSON: before, after, note, requestId)
  ARGV[8]  prev: hash of the previous entry (64 zeros for the first)
  ARGV[9]  hash: sha256(prev + canonical entry), computed by the caller (audit-chain.ts)
  ARGV[10] retention: trim entries older than this stream id (MINID), or 0 to keep everything
  ARGV[11] alert id
  ARGV[12] alert JSON
  ARGV[13] raisedAt (epoch ms)
  ARGV[14] case id
  ARGV[15] case JSON (the case after this alert)
  ARGV[16] case openedAt (epoch ms)

  The outbox is never trimmed here: an entry leaves it only when the notifier has delivered it
  (XACK + XDEL), so a long notifier outage delays alerts but loses none. Alerts are rare (one per
  level per subject), so the stream stays small.

  Returns: 1 when the alert was created, 0 when it already existed (nothing written),
           -2 when the audit head moved since it was read (nothing written; re-read the case, retry).
  Errors: AUDIT_LOG_WRONGTYPE when the log key is not a stream (nothing written).
]]
-- @include audit-chain
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ok = audit(KEYS[6], KEYS[7])
if ok ~= true then return ok == false and -2 or ok end
appendAudit(KEYS[6], KEYS[7])
redis.call('SET', KEYS[1], ARGV[12])
redis.call('ZADD', KEYS[3], ARGV[13], ARGV[11])
redis.call('XADD', KEYS[2], '*', 'id', ARGV[11], 'type', 'alert.raised')
redis.call('SET', KEYS[4], ARGV[15])
redis.call('ZADD', KEYS[5], ARGV[16], ARGV[14])
return 1

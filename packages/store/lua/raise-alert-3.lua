--[[
  raise-alert-3: creates an alert once and puts it in the outbox, atomically.

  An alert's id is deterministic (rule + scope + subject + level), so however many times a crossing
  is detected — retried batches, two ingest instances, a replay — the alert exists once and is
  delivered once. All keys share the {alerts} hash tag.

  KEYS[1] record  STRING  the alert (JSON)
  KEYS[2] outbox  STREAM  entries { id = <alert id>, type = 'alert.raised' } for the notifier
  KEYS[3] index   ZSET    alert id → raisedAt (epoch ms)
  ARGV[1] alert id
  ARGV[2] alert JSON
  ARGV[3] raisedAt (epoch ms)

  The outbox is never trimmed here: an entry leaves it only when the notifier has delivered it
  (XACK + XDEL), so a long notifier outage delays alerts but loses none. Alerts are rare (one per
  level per subject), so the stream stays small.

  Returns: 1 when the alert was created, 0 when it already existed (nothing written).
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'type', 'alert.raised')
return 1

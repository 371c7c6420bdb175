--[[
  redeliver-channel-3: hands the dead letters of the Kafka and Alertmanager channels back to their
  channel, once the cause is fixed (a topic's max.message.bytes raised, Alertmanager's config).

  A Kafka dead letter becomes a new outbox entry for that channel only ({ id, type, channel =
  'kafka' }: the other channels, which already delivered the alert, skip it); an Alertmanager dead
  letter makes its case due now (moved forward, never back: ZADD LT). Each chosen letter leaves the
  list in the same step, so running it twice redelivers nothing twice; a letter that fails again is
  dead-lettered again. Letters of other channels, or that name nothing to redeliver, stay. All keys
  share the {alerts} hash tag.

  KEYS[1] dead         LIST    the channel dead letters (JSON: channel, alertId, type, caseId, ...)
  KEYS[2] outbox       STREAM  the alert outbox
  KEYS[3] am schedule  ZSET    case id → next send to Alertmanager (ms)
  ARGV[1] the channel whose letters are redelivered: 'kafka', 'alertmanager', or '' for both
  ARGV[2] now (ms)

  Returns: { Kafka letters redelivered, Alertmanager letters redelivered }.
]]
local letters = redis.call('LRANGE', KEYS[1], 0, -1)
local kept = {}
local kafka, alertmanager = 0, 0
-- Oldest first (the list is newest first), so the channel gets them in the order they failed.
for i = #letters, 1, -1 do
  local raw = letters[i]
  local ok, l = pcall(cjson.decode, raw)
  local chosen = ok and type(l) == 'table' and (ARGV[1] == '' or l.channel == ARGV[1])
  if chosen and l.channel == 'kafka' and type(l.alertId) == 'string' then
    local eventType = type(l.type) == 'string' and l.type or 'alert.raised'
    redis.call('XADD', KEYS[2], '*', 'id', l.alertId, 'type', eventType, 'channel', 'kafka')
    kafka = kafka + 1
  elseif chosen and l.channel == 'alertmanager' and type(l.caseId) == 'string' then
    redis.call('ZADD', KEYS[3], 'LT', ARGV[2], l.caseId)
    alertmanager = alertmanager + 1
  else
    kept[#kept + 1] = raw
  end
end
if kafka + alertmanager > 0 then
  -- kept is oldest first: LPUSH puts the newest back at the head.
  redis.call('DEL', KEYS[1])
  for i = 1, #kept, 1000 do
    redis.call('LPUSH', KEYS[1], unpack(kept, i, math.min(i + 999, #kept)))
  end
end
return { kafka, alertmanager }

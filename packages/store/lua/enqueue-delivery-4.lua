--[[
  enqueue-delivery-4: creates one delivery (one message to one endpoint) once and schedules it, or
  files it straight as a dead letter (its endpoint is disabled: nothing is lost, it is redelivered
  once the endpoint is enabled again).

  The delivery id is derived from endpoint + message id, so fanning the same outbox entry out again
  (a notifier crashed before XACK) finds the delivery already there and changes nothing.
  All keys share the {webhooks} hash tag.

  KEYS[1] delivery  HASH  the delivery
  KEYS[2] schedule  ZSET  delivery id → due time (ms)
  KEYS[3] history   ZSET  the endpoint's deliveries: delivery id → createdAt (ms)
  KEYS[4] dead      ZSET  delivery id → dead-lettered at (ms)
  ARGV[1] delivery id
  ARGV[2] due time (ms) of the first attempt
  ARGV[3] createdAt (ms)
  ARGV[4] history cap: the endpoint's history keeps this many newest entries
  ARGV[5] dead-letter reason (e.g. 'endpoint_disabled'), or '' to schedule the first attempt
  ARGV[6..] field, value pairs of the delivery (endpointId, messageId, eventType, body, …)

  Returns: 1 when created, 0 when it already existed (nothing written).
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = { 'id', ARGV[1], 'attempts', 0, 'roundStart', 0, 'createdAt', ARGV[3] }
if ARGV[5] == '' then
  fields[#fields + 1] = 'status'; fields[#fields + 1] = 'pending'
  fields[#fields + 1] = 'nextAt'; fields[#fields + 1] = ARGV[2]
else
  fields[#fields + 1] = 'status'; fields[#fields + 1] = 'dead'
  fields[#fields + 1] = 'deadAt'; fields[#fields + 1] = ARGV[3]
  fields[#fields + 1] = 'deadReason'; fields[#fields + 1] = ARGV[5]
end
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
if ARGV[5] == '' then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
else
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[4]) + 1))
return 1

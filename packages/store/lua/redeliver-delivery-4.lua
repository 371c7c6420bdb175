--[[
  redeliver-delivery-4: sends a dead-lettered (or delivered) delivery again, with a fresh retry
  schedule and the same message id. Earlier attempts stay in its log.

  KEYS[1] delivery  HASH  the delivery
  KEYS[2] attempts  LIST  its attempts
  KEYS[3] schedule  ZSET  delivery id → due time (ms)
  KEYS[4] dead      ZSET  delivery id → dead-lettered at (ms)
  ARGV[1] delivery id
  ARGV[2] now (ms): due at once

  Returns (src/reply-codes.ts): 1 (done) when scheduled, 0 (noop) when it is already pending,
           -1 (not_found) when there is no such delivery.
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status == 'pending' then return 0 end
local attempts = redis.call('HGET', KEYS[1], 'attempts')
redis.call('HSET', KEYS[1], 'status', 'pending', 'roundStart', attempts, 'nextAt', ARGV[2])
redis.call('HDEL', KEYS[1], 'deadAt', 'deadReason', 'deliveredAt')
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1

--[[
  claim-deliveries-1: claims due deliveries for one notifier instance.

  A claimed delivery stays in the schedule with its due time moved to the end of a lease: no other
  instance sees it as due while this one delivers it, and if this instance dies the lease runs out
  and another picks it up (at-least-once, with the same webhook-id). Atomic, so two instances never
  claim the same due delivery.

  KEYS[1] schedule  ZSET  delivery id → due time (ms)
  ARGV[1] now (ms)
  ARGV[2] lease end (ms)
  ARGV[3] most deliveries to claim

  Returns: the claimed delivery ids, earliest due first.
]]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
end
return ids

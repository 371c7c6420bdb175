--[[
  settle-delivery-5: records one attempt of a delivery and what follows: delivered, retry at a time,
  or dead letter. Also tracks since when the endpoint has been failing without a success.

  Only the instance whose claim is current settles: the caller passes the attempt count it read when
  it claimed, and a mismatch (another instance settled in between, after this one's lease ran out)
  changes nothing.

  KEYS[1] delivery  HASH  the delivery
  KEYS[2] attempts  LIST  its attempts (JSON)
  KEYS[3] schedule  ZSET  delivery id → due time (ms)
  KEYS[4] dead      ZSET  delivery id → dead-lettered at (ms)
  KEYS[5] failing   HASH  endpoint id → start of its current run of failures (ms)
  ARGV[1]  delivery id
  ARGV[2]  attempt count read at claim time
  ARGV[3]  outcome: 'delivered' | 'retry' | 'dead'
  ARGV[4]  now (ms)
  ARGV[5]  next due time (ms), for 'retry'
  ARGV[6]  the attempt (JSON)
  ARGV[7]  attempts kept in the list
  ARGV[8]  retention (ms) of a delivered delivery; 0 keeps it
  ARGV[9]  endpoint id
  ARGV[10] '1' when the attempt reached for the endpoint (counts for its health), '0' otherwise
  ARGV[11] last HTTP status ('' when none)
  ARGV[12] last error ('' when none)
  ARGV[13] dead-letter reason, for 'dead' (retries_exhausted, url_policy, http_rejected, endpoint_disabled)

  Returns: { applied (1|0), failing since (ms) or -1 }.
]]
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return { 0, -1 } end
if redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[2] then return { 0, -1 } end

redis.call('RPUSH', KEYS[2], ARGV[6])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[7]), -1)
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'lastAttemptAt', ARGV[4], 'lastStatus', ARGV[11], 'lastError', ARGV[12])

local outcome = ARGV[3]
if outcome == 'delivered' then
  redis.call('HSET', KEYS[1], 'status', 'delivered', 'deliveredAt', ARGV[4], 'nextAt', '')
  redis.call('ZREM', KEYS[3], ARGV[1])
  if tonumber(ARGV[8]) > 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[8])
    redis.call('PEXPIRE', KEYS[2], ARGV[8])
  end
elseif outcome == 'retry' then
  redis.call('HSET', KEYS[1], 'nextAt', ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
else
  redis.call('HSET', KEYS[1], 'status', 'dead', 'deadAt', ARGV[4], 'deadReason', ARGV[13], 'nextAt', '')
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
end

if ARGV[10] ~= '1' then return { 1, -1 } end
if outcome == 'delivered' then
  redis.call('HDEL', KEYS[5], ARGV[9])
  return { 1, -1 }
end
redis.call('HSETNX', KEYS[5], ARGV[9], ARGV[4])
return { 1, tonumber(redis.call('HGET', KEYS[5], ARGV[9])) }

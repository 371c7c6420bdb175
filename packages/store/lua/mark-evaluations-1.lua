--[[
  mark-evaluations-1: records subjects whose alerts are about to be evaluated, before the attempt,
  so an evaluation that cannot finish (contention, a Redis failure, a crash, a bug) is not
  forgotten: the ingest's re-evaluation loop retries what stays here (services/ingest/src/reevaluate.ts).

  The score is the server's clock in microseconds (one clock for every instance); a later request
  for the same subject moves it forward, so an earlier attempt that succeeds does not remove it
  (clear-evaluations-1.lua removes only what is not newer than the attempt).

  KEYS[1] pending  ZSET  subject (`t:<tenant>`, `l:<lineage>`, `g:<group>`) → requested at (µs)
  ARGV[1..] subjects

  Returns: the score written (µs), to pass to clear-evaluations-1 after the attempt succeeds.
]]
local t = redis.call('TIME')
local score = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, #ARGV do redis.call('ZADD', KEYS[1], 'GT', 'CH', score, ARGV[i]) end
return score

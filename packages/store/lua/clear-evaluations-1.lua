--[[
  clear-evaluations-1: removes subjects whose evaluation succeeded, unless they were asked for
  again after the attempt began (their score is then newer than the attempt's).

  KEYS[1] pending  ZSET  see mark-evaluations-1.lua
  ARGV[1]  the score mark-evaluations-1 returned for the attempt (µs)
  ARGV[2..] subjects

  Returns: how many were removed.
]]
local n = 0
local mark = tonumber(ARGV[1])
for i = 2, #ARGV do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) <= mark then
    redis.call('ZREM', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n

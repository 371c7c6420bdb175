--[[
  release-case-1: ends one claim of a case on the Alertmanager schedule: due again at a time, or off
  the schedule (resolved, nothing more to send).

  Only the claim still current releases: a case whose score is no longer this claim's lease end was
  made due again meanwhile (a new alert or a status change, track-case-3.lua) and keeps that time,
  so an update that arrives while a send is in flight is never dropped.

  KEYS[1] am schedule  ZSET  case id → next send (ms)
  ARGV[1] case id
  ARGV[2] lease end (ms) the claim set
  ARGV[3] next send (ms), or '' to take the case off the schedule

  Returns: 1 when released as asked, 0 when the case was rescheduled meanwhile (left as it is).
]]
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1

--[[
  track-case-3: adds an alert to its case and makes the case due for Alertmanager now.

  The case's alerts (one per level reached) decide what Alertmanager is told: firing while any is
  open, resolved once all are closed. A case already scheduled later (an open case between two
  re-sends) is moved forward, never back (ZADD LT). Keys share the {alerts} hash tag.

  KEYS[1] case alerts  SET   alert ids of the case
  KEYS[2] am case      HASH  rule, scope, subject (and what was last sent)
  KEYS[3] am schedule  ZSET  case id → next send (ms)
  ARGV[1] alert id
  ARGV[2] case id
  ARGV[3] due (ms): now
  ARGV[4] rule
  ARGV[5] scope
  ARGV[6] subject

  Returns: 1.
]]
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'rule', ARGV[4], 'scope', ARGV[5], 'subject', ARGV[6])
redis.call('ZADD', KEYS[3], 'LT', ARGV[3], ARGV[2])
return 1

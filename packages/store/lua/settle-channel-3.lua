--[[
  settle-channel-3: records that one channel (the alerts topic, webhooks, Alertmanager) is finished
  with one outbox entry, and acknowledges the entry once every required channel is.

  Each channel keeps its own mark, so an entry taken over after a failure (XAUTOCLAIM) is handed
  only to the channels not yet marked: a channel that failed never makes another repeat its work.
  An entry the channel was holding (a failure it waits out, e.g. an ACL refusing the alerts topic)
  leaves the channel's hold set here, in the same step. All keys share the {alerts} hash tag.

  KEYS[1] outbox    STREAM  the outbox (consumer group ARGV[1])
  KEYS[2] channels  HASH    channel → 'done' | 'dead' for this entry
  KEYS[3] held      ZSET    entry id → first held (ms): the entries this channel holds
  ARGV[1] consumer group
  ARGV[2] outbox entry id
  ARGV[3] channel name
  ARGV[4] 'done' (delivered) or 'dead' (dead-lettered)
  ARGV[5..] the channels that must be marked before the entry is acknowledged

  Returns: 1 when the entry was acknowledged and deleted (every required channel marked, or another
  instance that took the entry over finished it first: nothing else is written), else 0.
]]
redis.call('ZREM', KEYS[3], ARGV[2])
if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then return 1 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
for i = 5, #ARGV do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then return 0 end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1

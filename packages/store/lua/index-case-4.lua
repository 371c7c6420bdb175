--[[
  index-case-4: (re)builds one case's queue indexes and counters from its index entry, if the case
  is still the version the caller read: the migration of a store written before the indexes existed
  (src/case-index.ts). A case changed since was indexed by the script that changed it.
  All keys share the {alerts} hash tag.

  KEYS[1] case         STRING  the case (JSON)
  KEYS[2] case index   ZSET    case id → openedAt (epoch ms); the base of the index keys
  KEYS[3] case entries HASH    case id → its index entry (JSON), see includes/case-index.lua
  KEYS[4] case counts  HASH    counters of the case queue
  ARGV[1] SHA-1 (hex) of the case as the caller read it
  ARGV[2] the case's index entry (JSON)

  Returns (src/reply-codes.ts): 1 (done) when indexed, 0 (noop) when the case changed or is gone
           (nothing written).
]]
-- @include case-index
local current = redis.call('GET', KEYS[1])
if not current or redis.sha1hex(current) ~= ARGV[1] then return 0 end
indexCase(KEYS[2], KEYS[3], KEYS[4], ARGV[2])
return 1

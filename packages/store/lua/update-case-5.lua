--[[
  update-case-5: replaces a case (assignment, comment, tags, transition), with its queue indexes and
  counters (includes/case-index.lua), and appends the audit entry of the change (unsealed),
  atomically, if the case is still the version the caller read.

  The caller reads the case, computes the new case and the entry, and sends the SHA-1 of the text it
  read: two analysts can never both move one case from the same status. The case is stored as the
  caller's text, never re-encoded by Lua. All keys share the {alerts} hash tag.

  KEYS[1] case        STRING  the case (JSON)
  KEYS[2] case index  ZSET    case id → openedAt (epoch ms)
  KEYS[3] unsealed    STREAM  audit entries waiting for the sealer
  KEYS[4] case entries HASH   case id → its index entry (JSON), see includes/case-index.lua
  KEYS[5] case counts  HASH   counters of the case queue
  ARGV[1..5] at, actor, action, object, data of the audit entry (see includes/audit-entry.lua)
  ARGV[6]  case id
  ARGV[7]  the new case (JSON)
  ARGV[8]  case openedAt (epoch ms)
  ARGV[9]  SHA-1 (hex) of the case as the caller read it
  ARGV[10] the case's index entry (JSON, src/case-index.ts)

  Returns (src/reply-codes.ts): 1 (done) when replaced, -1 (not_found) when the case does not exist,
           -2 (stale) when the case changed since it was read (nothing written; re-read, retry).
  Errors: AUDIT_LOG_WRONGTYPE when the unsealed stream key is not a stream (nothing written).
]]
-- @include audit-entry
-- @include case-index
local version = versionOf(KEYS[1])
if version == '' then return -1 end
if version ~= ARGV[9] then return -2 end
local ok = auditWritable(KEYS[3])
if ok ~= true then return ok end
appendEntry(KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
redis.call('SET', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[8], ARGV[6])
indexCase(KEYS[2], KEYS[4], KEYS[5], ARGV[10])
return 1

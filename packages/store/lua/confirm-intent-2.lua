--[[
  confirm-intent-2: turns a recorded intent into its audit entry (unsealed), once.

  A change whose keys live outside the {alerts} slot (KYC, lineages, webhooks) cannot be written in
  one script with its entry. Its intent is recorded first (HSET, src/audit.ts record()); once the
  change is known to be in place — right after it, or later by the settler — the intent is removed
  and the entry appended here, atomically, so an intent is confirmed at most once whoever confirms it.

  KEYS[1] intents   HASH    intent id → JSON
  KEYS[2] unsealed  STREAM  audit entries waiting for the sealer
  ARGV[1..5] at, actor, action, object, data of the audit entry (see includes/audit-entry.lua)
  ARGV[6]  intent id

  Returns: 1 when confirmed, 0 when the intent was already confirmed or abandoned (nothing written).
  Errors: AUDIT_LOG_WRONGTYPE when the unsealed stream key is not a stream (nothing written).
]]
-- @include audit-entry
if redis.call('HEXISTS', KEYS[1], ARGV[6]) == 0 then return 0 end
local ok = auditWritable(KEYS[2])
if ok ~= true then return ok end
appendEntry(KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
redis.call('HDEL', KEYS[1], ARGV[6])
return 1

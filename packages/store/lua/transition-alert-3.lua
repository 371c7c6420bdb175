--[[
  transition-alert-3: replaces an alert record only if it is still the version the caller read,
  tells the notifier and appends the audit entry (unsealed), atomically.

  The caller reads the alert, checks the transition against the lifecycle (contracts'
  applyTransition), appends the history entry and sends the new JSON with the SHA-1 of the JSON it
  read. If another change landed in between, nothing is written and the caller re-reads. The record
  is compared and replaced as text, so the numbers in it are never re-encoded by Lua. All keys share
  the {alerts} hash tag.

  KEYS[1] record     STRING  the alert (JSON)
  KEYS[2] outbox     STREAM  gets { id = <alert id>, type = 'alert.updated' }
  KEYS[3] unsealed   STREAM  audit entries waiting for the sealer
  ARGV[1..5] at, actor, action, object, data of the audit entry (see includes/audit-entry.lua)
  ARGV[6]  alert id
  ARGV[7]  SHA-1 (hex) of the record as the caller read it
  ARGV[8]  the new record (JSON)

  Returns (src/reply-codes.ts): 1 (done) when replaced, -2 (stale) when the record changed since it
           was read, -1 (not_found) when the alert does not exist (nothing written in each case but 1).
  Errors: AUDIT_LOG_WRONGTYPE when the unsealed stream key is not a stream (nothing written).
]]
-- @include audit-entry
local version = versionOf(KEYS[1])
if version == '' then return -1 end
if version ~= ARGV[7] then return -2 end
local ok = auditWritable(KEYS[3])
if ok ~= true then return ok end
appendEntry(KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
redis.call('SET', KEYS[1], ARGV[8])
-- Never trimmed here: the notifier deletes entries once delivered (see raise-alert-8.lua).
redis.call('XADD', KEYS[2], '*', 'id', ARGV[6], 'type', 'alert.updated')
return 1

--[[
  transition-alert-4: replaces an alert record only if it is still the version the caller read,
  tells the notifier and writes the audit entry, atomically (compare-and-set on the whole record and
  on the audit chain head).

  The caller reads the audit head and the alert, checks the transition against the lifecycle
  (contracts' applyTransition), appends the history entry and sends the new JSON with the SHA-1 of
  the JSON it read. If another change landed in between, nothing is written and the caller re-reads.
  The record is compared and replaced as text, so the numbers in it are never re-encoded by Lua.
  All keys share the {alerts} hash tag.

  KEYS[1] record     STRING  the alert (JSON)
  KEYS[2] outbox     STREAM  gets { id = <alert id>, type = 'alert.updated' }
  KEYS[3] audit log  STREAM  the hash-chained audit log
  KEYS[4] audit head STRING  "<seq> <hash>" of the newest audit entry
  ARGV[1]  chain head as the caller read it ("<seq> <hash>", or "" for an empty log)
  ARGV[2]  seq of the new entry (head seq + 1)
  ARGV[3]  at (RFC 3339)
  ARGV[4]  actor
  ARGV[5]  action, e.g. case.assign
  ARGV[6]  object, e.g. case:cs_…
  ARGV[7]  data (JSON: before, after, note, requestId)
  ARGV[8]  prev: hash of the previous entry (64 zeros for the first)
  ARGV[9]  hash: sha256(prev + canonical entry), computed by the caller (audit-chain.ts)
  ARGV[10] retention: trim entries older than this stream id (MINID), or 0 to keep everything
  ARGV[11] alert id
  ARGV[12] SHA-1 (hex) of the record as the caller read it
  ARGV[13] the new record (JSON)

  Returns: 1 when replaced, 0 when the record changed since it was read, -1 when the alert does not
           exist, -2 when the audit head moved (nothing written in each case but 1).
  Errors: AUDIT_LOG_WRONGTYPE when the log key is not a stream (nothing written).
]]
-- @include audit-chain
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
if redis.sha1hex(current) ~= ARGV[12] then return 0 end
local ok = audit(KEYS[3], KEYS[4])
if ok ~= true then return ok == false and -2 or ok end
appendAudit(KEYS[3], KEYS[4])
redis.call('SET', KEYS[1], ARGV[13])
-- Never trimmed here: the notifier deletes entries once delivered (see raise-alert-7.lua).
redis.call('XADD', KEYS[2], '*', 'id', ARGV[11], 'type', 'alert.updated')
return 1

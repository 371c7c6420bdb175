--[[
  append-audit-2: appends one entry to the hash-chained audit log, if the chain head is still the one
  the caller read (compare-and-set), for changes whose keys live outside the {alerts} slot.

  Lua in Redis has no SHA-256, so the caller computes the entry's hash over the head it read; the
  compare-and-set makes sure no other entry slipped in between, so the chain has no fork.

  KEYS[1] log   STREAM  the audit log
  KEYS[2] head  STRING  "<seq> <hash>" of the newest entry
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

  Returns: 1 when appended, -2 when the head moved since it was read (nothing written; re-read, retry).
  Errors: AUDIT_LOG_WRONGTYPE when the log key is not a stream.
]]
-- @include audit-chain
local ok = audit(KEYS[1], KEYS[2])
if ok ~= true then return ok == false and -2 or ok end
appendAudit(KEYS[1], KEYS[2])
return 1

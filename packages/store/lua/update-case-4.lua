--[[
  update-case-4: replaces a case (assignment, comment, tags, transition) and writes the audit entry
  of the change, atomically, if nothing changed since the caller read it.

  The caller reads the audit head, then the case, computes the new case and the entry. Every change
  to a case moves the head, so an unchanged head proves the case is still the version read: two
  analysts can never both move one case from the same status. The case is stored as the caller's
  text, never re-encoded by Lua. All keys share the {alerts} hash tag.

  KEYS[1] case        STRING  the case (JSON)
  KEYS[2] case index  ZSET    case id → openedAt (epoch ms)
  KEYS[3] audit log   STREAM  the hash-chained audit log
  KEYS[4] audit head  STRING  "<seq> <hash>" of the newest audit entry
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
  ARGV[11] case id
  ARGV[12] the new case (JSON)
  ARGV[13] case openedAt (epoch ms)

  Returns: 1 when replaced, -1 when the case does not exist, -2 when the audit head moved since it
           was read (nothing written; re-read, retry).
  Errors: AUDIT_LOG_WRONGTYPE when the log key is not a stream (nothing written).
]]
-- @include audit-chain
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local ok = audit(KEYS[3], KEYS[4])
if ok ~= true then return ok == false and -2 or ok end
appendAudit(KEYS[3], KEYS[4])
redis.call('SET', KEYS[1], ARGV[12])
redis.call('ZADD', KEYS[2], ARGV[13], ARGV[11])
return 1

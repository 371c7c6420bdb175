--[[
  transition-alert-2: replaces an alert record only if it is still the version the caller read,
  and tells the notifier, atomically (compare-and-set on the whole record).

  The caller reads the alert, checks the transition against the case lifecycle (contracts'
  applyTransition, the one place the lifecycle is defined), appends the history entry and sends the
  new JSON with the SHA-1 of the JSON it read. If another transition landed in between, the hashes
  differ, nothing is written and the caller re-reads: two analysts can never both move one case from
  the same status. The record is compared and replaced as text, so the numbers in it are never
  re-encoded by Lua. Both keys share the {alerts} hash tag.

  KEYS[1] record  STRING  the alert (JSON)
  KEYS[2] outbox  STREAM  gets { id = <alert id>, type = 'alert.updated' }
  ARGV[1] alert id
  ARGV[2] SHA-1 (hex) of the record as the caller read it
  ARGV[3] the new record (JSON)

  Returns: 1 when replaced, 0 when the record changed since it was read (nothing written),
           -1 when the alert does not exist.
]]
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
if redis.sha1hex(current) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
-- Never trimmed here: the notifier deletes entries once delivered (see raise-alert-3.lua).
redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'type', 'alert.updated')
return 1

-- case-index: keeps a case's queue indexes and counters in step with the case, in the same script
-- that writes it. Included by `-- @include case-index` (see src/scripts.ts, src/case-index.ts).
-- The caller computes the case's index entry (src/case-index.ts caseIndexEntry) from the case it
-- writes; this code knows nothing of statuses or severities, only of the entry's lists:
--   id  the case id
--   z   { {<zset suffix>, <score>, <member>}, ... }  sorted sets the case is in (queue orders, due times)
--   m   { <set suffix>, ... }                        sets the case id is in (filters: rule, tenant, ...)
--   c   { <counter field>, ... }                     counters the case adds 1 to (by status, ...)
-- Each index key is `<base>:<suffix>` beside the case index `base` (one {hash tag}, so one slot); the
-- counters are the fields of the `counts` hash, the entries themselves those of the `entries` hash.
-- The entry stored is the one undone next time, so an index never keeps a member the case has left.
local function caseIndexApply(base, counts, entry, sign)
  for _, z in ipairs(entry.z) do
    if sign > 0 then redis.call('ZADD', base .. ':' .. z[1], z[2], z[3]) else redis.call('ZREM', base .. ':' .. z[1], z[3]) end
  end
  for _, m in ipairs(entry.m) do
    if sign > 0 then redis.call('SADD', base .. ':' .. m, entry.id) else redis.call('SREM', base .. ':' .. m, entry.id) end
  end
  for _, c in ipairs(entry.c) do redis.call('HINCRBY', counts, c, sign) end
end
local function indexCase(base, entries, counts, entryJson)
  local entry = cjson.decode(entryJson)
  local old = redis.call('HGET', entries, entry.id)
  if old == entryJson then return end
  if old then caseIndexApply(base, counts, cjson.decode(old), -1) end
  caseIndexApply(base, counts, entry, 1)
  redis.call('HSET', entries, entry.id, entryJson)
end

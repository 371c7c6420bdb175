--[[
  link-lineage-2: gives a lineage an effective parent found from telemetry, unless it has one.

  A lineage record's parentId is what the cumulative count follows (own + ancestors). A parent
  declared by an analyst (API) or found first stands; a later link is still recorded as evidence.
  A lineage seen only in telemetry has no record yet: one is created so the ancestry walk passes
  through it. Both keys share the lineage's hash tag {l:<lineage>}.

  KEYS[1] record  STRING  the lineage record (JSON: id, parentId, tenantId, baseModel, notes)
  KEYS[2] links   HASH    parent lineage id → JSON evidence of the link (first evidence kept)
  ARGV[1] lineage id
  ARGV[2] parent lineage id, or '' to only make sure a record exists
  ARGV[3] evidence JSON (when a parent is given)
  ARGV[4] tenant id (for a record created here)
  ARGV[5] notes (for a record created here, or appended reason when the parent is set)

  Returns: 1 when the record's parentId was set to ARGV[2] (or the record created), 0 otherwise.
  Errors: a record that is not JSON raises a Lua error and nothing is written.
]]
local record, links = KEYS[1], KEYS[2]
local id, parent, evidence, tenant, notes = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

if parent ~= '' and parent ~= id then redis.call('HSETNX', links, parent, evidence) end

local raw = redis.call('GET', record)
if not raw then
  local r = { id = id, parentId = cjson.null, baseModel = cjson.null, notes = notes }
  if tenant ~= '' then r.tenantId = tenant end
  if parent ~= '' and parent ~= id then r.parentId = parent end
  redis.call('SET', record, cjson.encode(r))
  return 1
end
if parent == '' or parent == id then return 0 end
local r = cjson.decode(raw)
if r.parentId ~= nil and r.parentId ~= cjson.null then return 0 end
r.parentId = parent
if type(r.notes) == 'string' and r.notes ~= '' then r.notes = r.notes .. '\n' .. notes else r.notes = notes end
redis.call('SET', record, cjson.encode(r))
return 1

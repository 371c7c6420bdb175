--[[
  checkpoint-2: records who wrote or read a model checkpoint and returns the lineage links that follow.

  A job that starts from a checkpoint (checkpointIn) another lineage wrote (checkpointOut) continues
  that lineage's training under a new name. Writer and readers arrive in any order (different
  tenants, partitions, batches), so a read before the write is parked in `readers` and linked when
  the writer shows up. The first writer of a checkpoint is its origin. Both keys share {ck:<checkpoint>}.

  KEYS[1] writer   HASH  lineage, tenant of the first lineage that wrote the checkpoint
  KEYS[2] readers  HASH  lineage → tenant, readers seen before the writer (emptied once linked)
  ARGV[1] 'out' (the lineage wrote the checkpoint) | 'in' (the lineage started from it)
  ARGV[2] lineage id
  ARGV[3] tenant id

  Returns: a flat list of links, 4 strings each: child lineage, child tenant, parent lineage,
           parent tenant. Empty when nothing links (yet). Idempotent: repeating a call returns the
           same links or none, and changes nothing further.
  Errors: none of its own.
]]
local writer, readers = KEYS[1], KEYS[2]
local op, lineage, tenant = ARGV[1], ARGV[2], ARGV[3]
local out = {}

if op == 'out' then
  redis.call('HSETNX', writer, 'lineage', lineage)
  redis.call('HSETNX', writer, 'tenant', tenant)
  if redis.call('HGET', writer, 'lineage') ~= lineage then return out end
  local parked = redis.call('HGETALL', readers)
  for i = 1, #parked, 2 do
    if parked[i] ~= lineage then
      out[#out + 1] = parked[i]
      out[#out + 1] = parked[i + 1]
      out[#out + 1] = lineage
      out[#out + 1] = redis.call('HGET', writer, 'tenant')
    end
  end
  redis.call('DEL', readers)
  return out
end

local w = redis.call('HMGET', writer, 'lineage', 'tenant')
if not w[1] then
  redis.call('HSET', readers, lineage, tenant)
  return out
end
if w[1] ~= lineage then
  out = { lineage, tenant, w[1], w[2] or '' }
end
return out

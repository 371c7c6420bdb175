-- batched: hash and sorted-set reads and writes of any length, 500 fields a command (Lua's unpack
-- has a limit, and one huge command would block the server longer than several).

local BATCH = 500

-- Reads `fields` of hash `key` into `out` (field → value or false) and returns it.
local function hmgetMany(key, fields, out)
  for i = 1, #fields, BATCH do
    local values = redis.call('HMGET', key, unpack(fields, i, math.min(i + BATCH - 1, #fields)))
    for k = 1, #values do out[fields[i + k - 1]] = values[k] end
  end
  return out
end

-- Runs `command key [option] pair…` over a flat list of pairs (HSET, ZADD).
local function writeMany(command, key, flat, option)
  for i = 1, #flat, 2 * BATCH do
    if option then
      redis.call(command, key, option, unpack(flat, i, math.min(i + 2 * BATCH - 1, #flat)))
    else
      redis.call(command, key, unpack(flat, i, math.min(i + 2 * BATCH - 1, #flat)))
    end
  end
end

-- Runs `command key member…` over a list of members (HDEL, ZREM).
local function removeMany(command, key, members)
  for i = 1, #members, BATCH do redis.call(command, key, unpack(members, i, math.min(i + BATCH - 1, #members))) end
end

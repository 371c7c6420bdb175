--[[
  apply-usage-9: counts one tenant's usage events from one Kafka partition, exactly once.

  Called once per tenant per consumed batch. All keys share the tenant's hash tag {t:<tenant>}, so
  the whole step is atomic on a single Redis and on Redis Cluster alike.

  Exactly once rests on two marks, both stored beside the totals they protect:
    - the partition fence: an event whose Kafka offset is at or below the last offset applied for
      this tenant from this partition is skipped (a retried or replayed batch);
    - the job's high-water mark of counted time: only the part of an interval after the mark counts
      (the same event sent twice, under another offset, or overlapping reports).
  Operations are integers in tera-operations (10^12), so totals are exact and order-independent.

  KEYS[1] totals   HASH  ops, ub, gpu_us, events, counted, ctl1_ops, ops:tier:<n>, ops:country:<cc>,
                         ops:model:<id>, r365 / r365_from / max_day (trailing 365 days),
                         r24 / r24_from / max_hour (trailing 24 hours), max_end, h100e_active
  KEYS[2] days     HASH  day index → tera-ops
  KEYS[3] hours    HASH  hour index → tera-ops (pruned to the trailing 24 h)
  KEYS[4] fence    HASH  "<topic>/<partition>" → last applied offset
  KEYS[5] jobmark  HASH  job key → high-water mark (epoch ms)
  KEYS[6] jobops   ZSET  job key → tera-ops
  KEYS[7] lineages HASH  lineage id → tera-ops
  KEYS[8] active   ZSET  job key → end of the job's last counted interval (epoch ms)
  KEYS[9] jobh100e HASH  job key → H100-equivalents the job holds

  ARGV[1] source: "<topic>/<partition>"
  ARGV[2] active window (ms): a job whose last interval ended longer ago than this before the
          tenant's latest one no longer counts as held
  ARGV[3..] events, 13 fields each, in offset order:
          offset, jobKey, startMs, endMs, teraOpsPerMs, upperTeraOpsPerMs, milliGpus, lineageId
          ('' for none), country, tier, modelId, controlledTier1 ('1' | '0'), h100e

  Returns: { applied, skipped, countedMs, ops, ub, gpu_us, ctl1_ops, r365, r24, h100e_active,
             lineageId1, lineageOps1, lineageId2, lineageOps2, … } — totals as strings; the lineage
           pairs cover every lineage named in the call, applied or skipped, so a retried batch
           re-evaluates the same subjects as the first attempt did.
  Errors: none of its own; a malformed argument raises a Lua error (ERR …) and nothing is written.
]]
local totals, days, hours, fence, jobmark, jobops, lineages, active, jobh100e =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local source = ARGV[1]
local activeWindow = tonumber(ARGV[2])
local FIELDS = 13
local DAY_MS, HOUR_MS = 86400000, 3600000

local function fmt(n)
  return string.format('%.0f', n)
end

local function num(v, default)
  if v then return tonumber(v) end
  return default
end

-- Adds `delta` to bucket `idx` and keeps `sumField` equal to the sum of the last `width` buckets,
-- measured back from the newest bucket this tenant has seen. Amortised O(1): each bucket leaves
-- the window once.
local function roll(buckets, sumField, fromField, maxField, idx, width, delta, prune)
  local maxIdx = num(redis.call('HGET', totals, maxField), idx)
  if idx > maxIdx then maxIdx = idx end
  redis.call('HSET', totals, maxField, fmt(maxIdx))
  local windowStart = maxIdx - width + 1
  local from = num(redis.call('HGET', totals, fromField), windowStart)
  if from < windowStart then
    if windowStart - from >= width then
      redis.call('HSET', totals, sumField, '0')
      if prune then redis.call('DEL', buckets) end
    else
      for i = from, windowStart - 1 do
        local v = redis.call('HGET', buckets, fmt(i))
        if v and v ~= '0' then
          redis.call('HINCRBY', totals, sumField, '-' .. v)
        end
        if v and prune then redis.call('HDEL', buckets, fmt(i)) end
      end
    end
    from = windowStart
  end
  redis.call('HSET', totals, fromField, fmt(from))
  redis.call('HINCRBY', buckets, fmt(idx), fmt(delta))
  if idx >= windowStart then redis.call('HINCRBY', totals, sumField, fmt(delta)) end
end

local fenced = num(redis.call('HGET', fence, source), -1)
local lastOffset = fenced
local applied, skipped, countedMs = 0, 0, 0
local touchedLineages, lineageOrder = {}, {}
local maxEnd = num(redis.call('HGET', totals, 'max_end'), 0)

for base = 3, #ARGV, FIELDS do
  local offset = tonumber(ARGV[base])
  local lineageOfEvent = ARGV[base + 7]
  if lineageOfEvent ~= '' and not touchedLineages[lineageOfEvent] then
    touchedLineages[lineageOfEvent] = true
    lineageOrder[#lineageOrder + 1] = lineageOfEvent
  end
  if offset <= fenced then
    skipped = skipped + 1
  else
    applied = applied + 1
    if offset > lastOffset then lastOffset = offset end
    local jobKey = ARGV[base + 1]
    local startMs, endMs = tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
    local mark = num(redis.call('HGET', jobmark, jobKey), startMs)
    local from = startMs
    if mark > from then from = mark end
    local portion = endMs - from
    if portion > 0 then
      local rate, upperRate = tonumber(ARGV[base + 4]), tonumber(ARGV[base + 5])
      local milliGpus = tonumber(ARGV[base + 6])
      local lineageId, country, tier, model = ARGV[base + 7], ARGV[base + 8], ARGV[base + 9], ARGV[base + 10]
      local ctl1, h100e = ARGV[base + 11] == '1', ARGV[base + 12]
      local ops = math.floor(portion * rate + 0.5)
      local ub = math.floor(portion * upperRate + 0.5)
      countedMs = countedMs + portion
      redis.call('HSET', jobmark, jobKey, fmt(endMs))
      redis.call('HINCRBY', totals, 'ops', fmt(ops))
      redis.call('HINCRBY', totals, 'ub', fmt(ub))
      redis.call('HINCRBY', totals, 'gpu_us', fmt(milliGpus * portion))
      redis.call('HINCRBY', totals, 'counted', 1)
      redis.call('HINCRBY', totals, 'ops:tier:' .. tier, fmt(ops))
      redis.call('HINCRBY', totals, 'ops:country:' .. country, fmt(ops))
      redis.call('HINCRBY', totals, 'ops:model:' .. model, fmt(ops))
      if ctl1 then redis.call('HINCRBY', totals, 'ctl1_ops', fmt(ops)) end
      redis.call('ZINCRBY', jobops, fmt(ops), jobKey)
      if lineageId ~= '' then redis.call('HINCRBY', lineages, lineageId, fmt(ops)) end
      roll(days, 'r365', 'r365_from', 'max_day', math.floor(endMs / DAY_MS), 365, ops, false)
      roll(hours, 'r24', 'r24_from', 'max_hour', math.floor(endMs / HOUR_MS), 24, ops, true)
      -- H100-equivalents held: a job counts from its first counted interval until it falls out of
      -- the active window.
      if ctl1 then
        local held = redis.call('ZSCORE', active, jobKey)
        local before = num(redis.call('HGET', jobh100e, jobKey), 0)
        if not held then before = 0 end
        redis.call('HINCRBYFLOAT', totals, 'h100e_active', tonumber(h100e) - before)
        redis.call('HSET', jobh100e, jobKey, h100e)
        redis.call('ZADD', active, 'GT', endMs, jobKey)
      end
      if endMs > maxEnd then maxEnd = endMs end
    end
    redis.call('HINCRBY', totals, 'events', 1)
  end
end

if lastOffset > fenced then redis.call('HSET', fence, source, fmt(lastOffset)) end
redis.call('HSET', totals, 'max_end', fmt(maxEnd))

-- Jobs silent for longer than the window release what they held.
local expired = redis.call('ZRANGEBYSCORE', active, '-inf', '(' .. fmt(maxEnd - activeWindow))
for _, jobKey in ipairs(expired) do
  local held = num(redis.call('HGET', jobh100e, jobKey), 0)
  redis.call('HINCRBYFLOAT', totals, 'h100e_active', -held)
  redis.call('HDEL', jobh100e, jobKey)
  redis.call('ZREM', active, jobKey)
end

local t = redis.call('HMGET', totals, 'ops', 'ub', 'gpu_us', 'ctl1_ops', 'r365', 'r24', 'h100e_active')
local out = { applied, skipped, fmt(countedMs) }
for i = 1, 7 do out[#out + 1] = t[i] or '0' end
for _, lineageId in ipairs(lineageOrder) do
  out[#out + 1] = lineageId
  out[#out + 1] = redis.call('HGET', lineages, lineageId) or '0'
end
return out

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

  Cost: the state is read once, deltas accumulate in Lua tables, and each field, bucket and job is
  written once per call, so a call with many events costs little more than a call with one.

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

local function add(map, key, delta)
  map[key] = (map[key] or 0) + delta
end

local state = redis.call('HMGET', totals, 'max_day', 'r365_from', 'max_hour', 'r24_from', 'max_end')
local fenced = num(redis.call('HGET', fence, source), -1)
local lastOffset = fenced
local applied, skipped, countedMs = 0, 0, 0
local touchedLineages, lineageOrder = {}, {}
local maxEnd = num(state[5], 0)

local inc = {}                      -- totals field -> delta
local dayInc, hourInc = {}, {}      -- bucket index -> delta
local lineageInc = {}               -- lineage id -> delta
local jobs, jobOrder = {}, {}       -- job key -> { mark, ops, ctl1, h100e, lastEnd }

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
    local job = jobs[jobKey]
    if not job then
      job = { mark = num(redis.call('HGET', jobmark, jobKey), nil), ops = 0, ctl1 = false }
      jobs[jobKey] = job
      jobOrder[#jobOrder + 1] = jobKey
    end
    local from = startMs
    if job.mark and job.mark > from then from = job.mark end
    local portion = endMs - from
    if portion > 0 then
      local rate, upperRate = tonumber(ARGV[base + 4]), tonumber(ARGV[base + 5])
      local milliGpus = tonumber(ARGV[base + 6])
      local country, tier, model = ARGV[base + 8], ARGV[base + 9], ARGV[base + 10]
      local ops = math.floor(portion * rate + 0.5)
      countedMs = countedMs + portion
      job.mark = endMs
      job.ops = job.ops + ops
      add(inc, 'ops', ops)
      add(inc, 'ub', math.floor(portion * upperRate + 0.5))
      add(inc, 'gpu_us', milliGpus * portion)
      add(inc, 'counted', 1)
      add(inc, 'ops:tier:' .. tier, ops)
      add(inc, 'ops:country:' .. country, ops)
      add(inc, 'ops:model:' .. model, ops)
      if lineageOfEvent ~= '' then add(lineageInc, lineageOfEvent, ops) end
      add(dayInc, math.floor(endMs / DAY_MS), ops)
      add(hourInc, math.floor(endMs / HOUR_MS), ops)
      if ARGV[base + 11] == '1' then
        add(inc, 'ctl1_ops', ops)
        job.ctl1 = true
        job.h100e = ARGV[base + 12]
        if not job.lastEnd or endMs > job.lastEnd then job.lastEnd = endMs end
      end
      if endMs > maxEnd then maxEnd = endMs end
    end
    add(inc, 'events', 1)
  end
end

-- Keeps `sumField` equal to the sum of the last `width` buckets, measured back from the newest
-- bucket this tenant has seen: old buckets leaving the window are subtracted once (amortised O(1)),
-- then this call's deltas inside the window are added. Hour buckets outside the window are pruned.
local function roll(buckets, deltas, sumField, fromField, maxField, oldMax, oldFrom, width, prune)
  local maxIdx = oldMax
  for idx in pairs(deltas) do
    if not maxIdx or idx > maxIdx then maxIdx = idx end
  end
  if not maxIdx then return end
  local windowStart = maxIdx - width + 1
  local from = oldFrom or windowStart
  if from < windowStart then
    if windowStart - from >= width then
      redis.call('HSET', totals, sumField, '0')
      if prune then redis.call('DEL', buckets) end
    else
      for i = from, windowStart - 1 do
        local v = redis.call('HGET', buckets, fmt(i))
        if v and v ~= '0' then redis.call('HINCRBY', totals, sumField, '-' .. v) end
        if v and prune then redis.call('HDEL', buckets, fmt(i)) end
      end
    end
    from = windowStart
  end
  local inWindow = 0
  for idx, delta in pairs(deltas) do
    if idx >= windowStart then
      inWindow = inWindow + delta
      redis.call('HINCRBY', buckets, fmt(idx), fmt(delta))
    elseif not prune then
      redis.call('HINCRBY', buckets, fmt(idx), fmt(delta))
    end
  end
  redis.call('HSET', totals, maxField, fmt(maxIdx), fromField, fmt(from))
  if inWindow ~= 0 then redis.call('HINCRBY', totals, sumField, fmt(inWindow)) end
end

roll(days, dayInc, 'r365', 'r365_from', 'max_day', num(state[1], nil), num(state[2], nil), 365, false)
roll(hours, hourInc, 'r24', 'r24_from', 'max_hour', num(state[3], nil), num(state[4], nil), 24, true)

for field, delta in pairs(inc) do
  if delta ~= 0 then redis.call('HINCRBY', totals, field, fmt(delta)) end
end
for lineageId, delta in pairs(lineageInc) do
  redis.call('HINCRBY', lineages, lineageId, fmt(delta))
end

local marks = {}
for _, jobKey in ipairs(jobOrder) do
  local job = jobs[jobKey]
  if job.mark then
    marks[#marks + 1] = jobKey
    marks[#marks + 1] = fmt(job.mark)
  end
  if job.ops > 0 then redis.call('ZINCRBY', jobops, fmt(job.ops), jobKey) end
  -- H100-equivalents held: a job counts from its first counted interval until it falls out of the
  -- active window.
  if job.ctl1 then
    local held = redis.call('ZSCORE', active, jobKey)
    local before = 0
    if held then before = num(redis.call('HGET', jobh100e, jobKey), 0) end
    redis.call('HINCRBYFLOAT', totals, 'h100e_active', tonumber(job.h100e) - before)
    redis.call('HSET', jobh100e, jobKey, job.h100e)
    redis.call('ZADD', active, 'GT', job.lastEnd, jobKey)
  end
end
if #marks > 0 then redis.call('HSET', jobmark, unpack(marks)) end

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

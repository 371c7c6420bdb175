--[[
  apply-usage-11: counts one tenant's usage reports exactly once, by covered time.

  Called once per tenant per chunk of a consumed batch. All keys share the tenant's hash tag
  {t:<tenant>}, so the step is atomic on a single Redis and on Redis Cluster alike.

  Exactness rests on covered time, not on Kafka offsets. A usage slice is what one report covers:
  (cluster, job, node), node '' when the report covers the whole job. Each slice keeps the set of
  time ranges already counted; a report counts exactly the part of its interval not yet covered (its
  rate is per millisecond, so a measured figure is pro-rated), then that part joins the set, and
  adjacent ranges merge, so a contiguous stream keeps one range per slice. Duplicates, overlapping
  re-reports, out-of-order arrival, replays, recreated topics and a second producer of the same slice
  therefore count once by construction.

  A job is reported at one granularity, the first seen: whole (node ''), per node (a host) or per GPU
  (host/GPU, a node with a '/'); reports at another granularity are refused (mixed_granularity),
  since the same GPU time would otherwise be counted once per granularity.

  Lateness is bounded in event time: the tenant's watermark is the latest interval end counted for
  it (max_end). A report ending more than ARGV[2] before the watermark is refused (interval_too_late).
  Every accepted report therefore starts after watermark - lateness - max interval, so covered ranges
  that end before that horizon can never meet a report again and are pruned, and so are slices and
  jobs idle since before it: memory stays proportional to the slices active within the lateness
  bound. Watermark, verdicts and pruning live in this one atomic step, so they always agree.

  Validation happens before any write: a malformed argument raises a Lua error and nothing is written.
  Cost: the state is read once per slice, deltas accumulate in Lua tables, each field, bucket, slice
  and job is written once per call.

  KEYS[1]  totals   HASH  ops, ub, gpu_us, counted, ctl1_ops, ops:tier:<n>, ops:country:<cc>,
                          ops:model:<id>, covered_gpu_us:duplicate, covered_gpu_us:overlap,
                          r365 / r365_from / max_day (trailing 365 days), r24 / r24_from / max_hour
                          (trailing 24 hours), max_end (the watermark), h100e_active
  KEYS[2]  days     HASH  day index → tera-ops
  KEYS[3]  hours    HASH  hour index → tera-ops (pruned to the trailing 24 h)
  KEYS[4]  cover    HASH  slice key → covered ranges "start,end;start,end" (epoch ms, sorted, disjoint)
  KEYS[5]  slices   ZSET  slice key → end of its latest covered range (idle pruning)
  KEYS[6]  gran     HASH  job key → granularity 'w' (whole) | 'n' (per node) | 'g' (per GPU)
  KEYS[7]  jobs     ZSET  job key → end of its latest covered range (idle pruning)
  KEYS[8]  jobops   ZSET  job key → tera-ops (top jobs for evidence; idle jobs outside the top are pruned)
  KEYS[9]  lineages HASH  lineage id → tera-ops
  KEYS[10] active   ZSET  slice key → end of the slice's last counted interval on controlled Tier 1 hardware
  KEYS[11] sliceh   HASH  slice key → H100-equivalents the slice holds

  ARGV[1] active window (ms): a slice whose last interval ended longer ago than this before the
          tenant's watermark no longer counts as held
  ARGV[2] lateness bound (ms)
  ARGV[3] longest interval one report may cover (ms)
  ARGV[4] most idle slices and jobs pruned per call (amortised clean-up)
  ARGV[5..] reports, one argument each: 13 fields separated by tabs (fewer, shorter arguments to
          build and parse): jobKey, node ('' = whole job), startMs, endMs, teraOpsPerMs,
          upperTeraOpsPerMs, milliGpus, lineageId ('' for none), country, tier, modelId,
          controlled ('1' controlled hardware in a Tier 1 country | 'c' controlled elsewhere | '0'), h100e. No field may contain a tab.

  Measures (what a rule counts; see docs/rules.md). Beside the fields above:
    totals   ctl_ops                        tera-ops on controlled (3A090) hardware anywhere
    days     c1:<day> / c:<day>             day buckets of ctl1_ops / ctl_ops (kept, like the plain ones)
    hours    c1:<hour> / c:<hour>           hour buckets of ctl1_ops / ctl_ops (pruned with the plain ones)
    lineages "<lineage> ctl1", "<lineage> ctl", "<lineage> tier:<n>", "<lineage> country:<cc>"
                                            the tenant's contribution to a lineage split like its totals
                                            (lineage ids contain no space, so these never collide)

  Returns: { counted, duplicates, overlaps, countedMs, duplicateGpuUs, overlapGpuUs,
             ops, ub, gpu_us, ctl1_ops, r365, r24, h100e_active, watermark,
             rejectedCount, index1, reason1, …, lineageId1, lineageOps1, … }
           counted: reports that counted some time; duplicates: reports entirely covered already;
           overlaps: reports partly covered; the GPU-µs they carried that was covered is returned
           and added to the covered_gpu_us fields. Rejections name the report's 0-based index in
           this call and a DLQ reason. Lineage pairs cover every lineage named in the call, so a
           retried batch re-evaluates the same subjects as the first attempt did.
  Errors: a Lua error naming the argument ("apply-usage: start of report 3 is not a finite number")
          when an argument is malformed; it is raised before any write, so nothing is written.
]]
local K_TOTALS, K_DAYS, K_HOURS, K_COVER, K_SLICES, K_GRAN, K_JOBS, K_JOBOPS, K_LINEAGES, K_ACTIVE, K_SLICEH =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local FIELDS = 13
local FIRST = 5
local DAY_MS, HOUR_MS = 86400000, 3600000
local TOP_JOBS_KEPT = 100
local HSET_CHUNK = 500

local function fmt(n)
  return string.format('%.0f', n)
end

local function need(v, what, i)
  local n = tonumber(v)
  if n == nil or n ~= n or n == math.huge or n == -math.huge then
    error('apply-usage: ' .. what .. ' of report ' .. i .. ' is not a finite number')
  end
  return n
end

local function num(v, default)
  if v then return tonumber(v) end
  return default
end

local function add(map, key, delta)
  map[key] = (map[key] or 0) + delta
end

local function decode(s)
  local ranges = {}
  if s then
    for a, b in string.gmatch(s, '(%-?%d+),(%-?%d+)') do ranges[#ranges + 1] = { tonumber(a), tonumber(b) } end
  end
  return ranges
end

local function encode(ranges)
  local parts = {}
  for i = 1, #ranges do parts[i] = fmt(ranges[i][1]) .. ',' .. fmt(ranges[i][2]) end
  return table.concat(parts, ';')
end

-- Adds [s, e) to a sorted list of disjoint ranges, merging overlapping and adjacent ones; returns
-- how much of [s, e) was not covered before and the new list.
local function cover(ranges, s, e)
  local out, placed = {}, false
  local uncovered, ns, ne = e - s, s, e
  for i = 1, #ranges do
    local r = ranges[i]
    if r[2] < ns then
      out[#out + 1] = r
    elseif r[1] > ne then
      if not placed then out[#out + 1] = { ns, ne }; placed = true end
      out[#out + 1] = r
    else
      local os, oe = math.max(r[1], s), math.min(r[2], e)
      if oe > os then uncovered = uncovered - (oe - os) end
      if r[1] < ns then ns = r[1] end
      if r[2] > ne then ne = r[2] end
    end
  end
  if not placed then out[#out + 1] = { ns, ne } end
  return uncovered, out
end

local function hsetMany(key, flat)
  for i = 1, #flat, 2 * HSET_CHUNK do
    redis.call('HSET', key, unpack(flat, i, math.min(i + 2 * HSET_CHUNK - 1, #flat)))
  end
end

local activeWindow = tonumber(ARGV[1])
local lateness = tonumber(ARGV[2])
local maxInterval = tonumber(ARGV[3])
local pruneLimit = tonumber(ARGV[4])
if not (activeWindow and lateness and maxInterval and pruneLimit) then
  return redis.error_reply('ERR apply-usage: ARGV[1..4] must be numbers')
end

-- Phase 1: parse and check every report before anything is read or written.
local REPORT = '^' .. string.rep('([^\t]*)\t', FIELDS - 1) .. '([^\t]*)$'
local reports = {}
for a = FIRST, #ARGV do
  local i = #reports
  local job, node, s, e, rate, upper, mgpu, lineage, country, tier, model, ctl1, h100e = string.match(ARGV[a], REPORT)
  if not job then error('apply-usage: report ' .. i .. ' does not have ' .. FIELDS .. ' tab-separated fields') end
  local r = {
    job = job, node = node,
    s = need(s, 'start', i), e = need(e, 'end', i),
    rate = need(rate, 'rate', i), upper = need(upper, 'upper rate', i),
    mgpu = need(mgpu, 'milli-GPUs', i), lineage = lineage,
    country = country, tier = tier, model = model,
    ctl1 = ctl1 == '1', ctl = ctl1 == '1' or ctl1 == 'c', h100e = need(h100e, 'H100-equivalents', i),
  }
  if r.job == '' or not (r.e > r.s) then error('apply-usage: report ' .. i .. ' has no job or an empty interval') end
  reports[#reports + 1] = r
end

-- Reads each job's granularity and each slice's covered ranges with one HMGET per 500, not one
-- HGET apiece (a rejected report's slice is read and left alone).
local function hmgetMany(key, fields)
  local out = {}
  for i = 1, #fields, HSET_CHUNK do
    local values = redis.call('HMGET', key, unpack(fields, i, math.min(i + HSET_CHUNK - 1, #fields)))
    for k = 1, #values do out[fields[i + k - 1]] = values[k] end
  end
  return out
end
local jobKeys, sliceKeys, seenJob, seenSlice = {}, {}, {}, {}
for _, r in ipairs(reports) do
  if not seenJob[r.job] then
    seenJob[r.job] = true
    jobKeys[#jobKeys + 1] = r.job
  end
  r.key = r.job
  if r.node ~= '' then r.key = r.job .. '|' .. r.node end
  if not seenSlice[r.key] then
    seenSlice[r.key] = true
    sliceKeys[#sliceKeys + 1] = r.key
  end
end
local storedGran = hmgetMany(K_GRAN, jobKeys)
local storedCover = hmgetMany(K_COVER, sliceKeys)

-- Phase 2: count.
local state = redis.call('HMGET', K_TOTALS, 'max_day', 'r365_from', 'max_hour', 'r24_from', 'max_end')
local watermark = num(state[5], 0)
local counted, duplicates, overlaps, countedMs, dupGpuUs, overlapGpuUs = 0, 0, 0, 0, 0, 0
local rejected = {}
local touchedLineages, lineageOrder = {}, {}
local inc, dayInc, hourInc, lineageInc = {}, {}, {}, {}
local measureDayInc, measureHourInc = { c1 = {}, c = {} }, { c1 = {}, c = {} }
local slices, sliceOrder = {}, {}   -- slice key -> { ranges, lastEnd, ctl1, h100e, heldEnd }
local jobs, jobOrder = {}, {}       -- job key -> { gran, known, ops, lastEnd }

local function granularity(node)
  if node == '' then return 'w' end
  if string.find(node, '/', 1, true) then return 'g' end
  return 'n'
end

for i, r in ipairs(reports) do
  if r.lineage ~= '' and not touchedLineages[r.lineage] then
    touchedLineages[r.lineage] = true
    lineageOrder[#lineageOrder + 1] = r.lineage
  end
  local job = jobs[r.job]
  if not job then
    local g = storedGran[r.job]
    job = { gran = g or false, known = g and true or false, ops = 0, lastEnd = nil }
    jobs[r.job] = job
    jobOrder[#jobOrder + 1] = r.job
  end
  local g = granularity(r.node)
  if r.e < watermark - lateness then
    rejected[#rejected + 1] = { i - 1, 'interval_too_late' }
  elseif job.gran and job.gran ~= g then
    rejected[#rejected + 1] = { i - 1, 'mixed_granularity' }
  else
    job.gran = g
    local key = r.key
    local slice = slices[key]
    if not slice then
      slice = { ranges = decode(storedCover[key]) }
      slices[key] = slice
      sliceOrder[#sliceOrder + 1] = key
    end
    local portion
    portion, slice.ranges = cover(slice.ranges, r.s, r.e)
    local coveredMs = (r.e - r.s) - portion
    if portion <= 0 then
      duplicates = duplicates + 1
      dupGpuUs = dupGpuUs + r.mgpu * coveredMs
    else
      if coveredMs > 0 then
        overlaps = overlaps + 1
        overlapGpuUs = overlapGpuUs + r.mgpu * coveredMs
      end
      counted = counted + 1
      local ops = math.floor(portion * r.rate + 0.5)
      countedMs = countedMs + portion
      job.ops = job.ops + ops
      add(inc, 'ops', ops)
      add(inc, 'ub', math.floor(portion * r.upper + 0.5))
      add(inc, 'gpu_us', r.mgpu * portion)
      add(inc, 'counted', 1)
      add(inc, 'ops:tier:' .. r.tier, ops)
      add(inc, 'ops:country:' .. r.country, ops)
      add(inc, 'ops:model:' .. r.model, ops)
      if r.lineage ~= '' then
        add(lineageInc, r.lineage, ops)
        add(lineageInc, r.lineage .. ' tier:' .. r.tier, ops)
        add(lineageInc, r.lineage .. ' country:' .. r.country, ops)
        if r.ctl then add(lineageInc, r.lineage .. ' ctl', ops) end
        if r.ctl1 then add(lineageInc, r.lineage .. ' ctl1', ops) end
      end
      if r.ctl then
        add(inc, 'ctl_ops', ops)
        add(measureDayInc.c, math.floor(r.e / DAY_MS), ops)
        add(measureHourInc.c, math.floor(r.e / HOUR_MS), ops)
      end
      if r.ctl1 then
        add(measureDayInc.c1, math.floor(r.e / DAY_MS), ops)
        add(measureHourInc.c1, math.floor(r.e / HOUR_MS), ops)
      end
      add(dayInc, math.floor(r.e / DAY_MS), ops)
      add(hourInc, math.floor(r.e / HOUR_MS), ops)
      if r.ctl1 then
        add(inc, 'ctl1_ops', ops)
        slice.ctl1 = true
        slice.h100e = r.h100e
        if not slice.heldEnd or r.e > slice.heldEnd then slice.heldEnd = r.e end
      end
      if r.e > watermark then watermark = r.e end
    end
    if not slice.lastEnd or r.e > slice.lastEnd then slice.lastEnd = r.e end
    if not job.lastEnd or r.e > job.lastEnd then job.lastEnd = r.e end
  end
end
if dupGpuUs > 0 then add(inc, 'covered_gpu_us:duplicate', dupGpuUs) end
if overlapGpuUs > 0 then add(inc, 'covered_gpu_us:overlap', overlapGpuUs) end

-- Keeps `sumField` equal to the sum of the last `width` buckets, measured back from the newest
-- bucket this tenant has seen: old buckets leaving the window are subtracted once (amortised O(1)),
-- then this call's deltas inside the window are added. Hour buckets outside the window are pruned.
local marks = {}
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
      redis.call('HSET', K_TOTALS, sumField, '0')
      if prune then redis.call('DEL', buckets) end
    else
      for i = from, windowStart - 1 do
        local v = redis.call('HGET', buckets, fmt(i))
        if v and v ~= '0' then redis.call('HINCRBY', K_TOTALS, sumField, '-' .. v) end
        if v and prune then redis.call('HDEL', buckets, fmt(i)) end
        if prune then redis.call('HDEL', buckets, 'c1:' .. fmt(i), 'c:' .. fmt(i)) end
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
  -- Written with the watermark, in one HSET at the end: nothing in between reads these fields.
  marks[#marks + 1] = maxField
  marks[#marks + 1] = fmt(maxIdx)
  marks[#marks + 1] = fromField
  marks[#marks + 1] = fmt(from)
  if inWindow ~= 0 then redis.call('HINCRBY', K_TOTALS, sumField, fmt(inWindow)) end
end

roll(K_DAYS, dayInc, 'r365', 'r365_from', 'max_day', num(state[1], nil), num(state[2], nil), 365, false)
roll(K_HOURS, hourInc, 'r24', 'r24_from', 'max_hour', num(state[3], nil), num(state[4], nil), 24, true)
-- Measure buckets: days kept like the plain ones; hours only inside the trailing 24 h (roll prunes them).
local maxHour = num(redis.call('HGET', K_TOTALS, 'max_hour'), 0)
for prefix, deltas in pairs(measureDayInc) do
  for idx, delta in pairs(deltas) do redis.call('HINCRBY', K_DAYS, prefix .. ':' .. fmt(idx), fmt(delta)) end
end
for prefix, deltas in pairs(measureHourInc) do
  for idx, delta in pairs(deltas) do
    if idx > maxHour - 24 then redis.call('HINCRBY', K_HOURS, prefix .. ':' .. fmt(idx), fmt(delta)) end
  end
end

for field, delta in pairs(inc) do
  if delta ~= 0 then redis.call('HINCRBY', K_TOTALS, field, fmt(delta)) end
end
for lineageId, delta in pairs(lineageInc) do
  redis.call('HINCRBY', K_LINEAGES, lineageId, fmt(delta))
end

-- Covered ranges that end before the horizon can never meet an accepted report again.
local horizon = watermark - lateness - maxInterval
local coverWrites, sliceSeen, heldSlices = {}, {}, {}
for _, key in ipairs(sliceOrder) do
  local slice = slices[key]
  local kept = {}
  for _, r in ipairs(slice.ranges) do
    if r[2] >= horizon then kept[#kept + 1] = r end
  end
  if #kept > 0 then
    coverWrites[#coverWrites + 1] = key
    coverWrites[#coverWrites + 1] = encode(kept)
  else
    redis.call('HDEL', K_COVER, key)
  end
  sliceSeen[#sliceSeen + 1] = fmt(slice.lastEnd)
  sliceSeen[#sliceSeen + 1] = key
  if slice.ctl1 then heldSlices[#heldSlices + 1] = key end
end
-- H100-equivalents held: a slice counts from its first counted interval on controlled Tier 1
-- hardware until it falls out of the active window. Read for all slices at once (each slice once
-- per call, so the reads see what per-slice reads would), the total moved slice by slice.
for i = 1, #heldSlices, HSET_CHUNK do
  local part = { unpack(heldSlices, i, math.min(i + HSET_CHUNK - 1, #heldSlices)) }
  local held = redis.call('ZMSCORE', K_ACTIVE, unpack(part))
  local before = redis.call('HMGET', K_SLICEH, unpack(part))
  local sliceh, active = {}, {}
  for k, key in ipairs(part) do
    local slice = slices[key]
    local was = 0
    if held[k] then was = num(before[k], 0) end
    -- A slice still holding what it held moves nothing: HINCRBYFLOAT by 0 would rewrite the same
    -- value, so the call is skipped (the steady state of every held slice, one call each).
    if not (held[k] and slice.h100e - was == 0) then
      redis.call('HINCRBYFLOAT', K_TOTALS, 'h100e_active', slice.h100e - was)
    end
    sliceh[#sliceh + 1] = key
    sliceh[#sliceh + 1] = tostring(slice.h100e)
    active[#active + 1] = fmt(slice.heldEnd)
    active[#active + 1] = key
  end
  redis.call('HSET', K_SLICEH, unpack(sliceh))
  redis.call('ZADD', K_ACTIVE, 'GT', unpack(active))
end
if #coverWrites > 0 then hsetMany(K_COVER, coverWrites) end
if #sliceSeen > 0 then
  for i = 1, #sliceSeen, 2 * HSET_CHUNK do
    redis.call('ZADD', K_SLICES, 'GT', unpack(sliceSeen, i, math.min(i + 2 * HSET_CHUNK - 1, #sliceSeen)))
  end
end

local gran, jobSeen = {}, {}
for _, jobKey in ipairs(jobOrder) do
  local job = jobs[jobKey]
  if job.gran and not job.known then
    gran[#gran + 1] = jobKey
    gran[#gran + 1] = job.gran
  end
  if job.lastEnd then
    jobSeen[#jobSeen + 1] = fmt(job.lastEnd)
    jobSeen[#jobSeen + 1] = jobKey
  end
  if job.ops > 0 then redis.call('ZINCRBY', K_JOBOPS, fmt(job.ops), jobKey) end
end
if #gran > 0 then hsetMany(K_GRAN, gran) end
for i = 1, #jobSeen, 2 * HSET_CHUNK do
  redis.call('ZADD', K_JOBS, 'GT', unpack(jobSeen, i, math.min(i + 2 * HSET_CHUNK - 1, #jobSeen)))
end
redis.call('HSET', K_TOTALS, 'max_end', fmt(watermark), unpack(marks))

-- Idle slices and jobs: their covered time can no longer be met, their granularity no longer
-- matters. A job's operations stay among the top jobs when they are large enough to be evidence.
local idle = redis.call('ZRANGEBYSCORE', K_SLICES, '-inf', '(' .. fmt(horizon), 'LIMIT', 0, pruneLimit)
for _, key in ipairs(idle) do
  redis.call('HDEL', K_COVER, key)
  redis.call('ZREM', K_SLICES, key)
end
local idleJobs = redis.call('ZRANGEBYSCORE', K_JOBS, '-inf', '(' .. fmt(horizon), 'LIMIT', 0, pruneLimit)
for _, jobKey in ipairs(idleJobs) do
  redis.call('HDEL', K_GRAN, jobKey)
  redis.call('ZREM', K_JOBS, jobKey)
  local rank = redis.call('ZREVRANK', K_JOBOPS, jobKey)
  if rank and rank >= TOP_JOBS_KEPT then redis.call('ZREM', K_JOBOPS, jobKey) end
end

-- Slices silent for longer than the active window release what they held.
local expired = redis.call('ZRANGEBYSCORE', K_ACTIVE, '-inf', '(' .. fmt(watermark - activeWindow))
for _, key in ipairs(expired) do
  local held = num(redis.call('HGET', K_SLICEH, key), 0)
  redis.call('HINCRBYFLOAT', K_TOTALS, 'h100e_active', -held)
  redis.call('HDEL', K_SLICEH, key)
  redis.call('ZREM', K_ACTIVE, key)
end

local t = redis.call('HMGET', K_TOTALS, 'ops', 'ub', 'gpu_us', 'ctl1_ops', 'r365', 'r24', 'h100e_active')
local out = { counted, duplicates, overlaps, fmt(countedMs), fmt(dupGpuUs), fmt(overlapGpuUs) }
for i = 1, 7 do out[#out + 1] = t[i] or '0' end
out[#out + 1] = fmt(watermark)
out[#out + 1] = #rejected
for _, rej in ipairs(rejected) do
  out[#out + 1] = rej[1]
  out[#out + 1] = rej[2]
end
for _, lineageId in ipairs(lineageOrder) do
  out[#out + 1] = lineageId
  out[#out + 1] = redis.call('HGET', K_LINEAGES, lineageId) or '0'
end
return out

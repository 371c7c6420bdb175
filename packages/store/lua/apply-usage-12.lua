--[[
  apply-usage-12: counts one tenant's usage reports exactly once, by covered time, reconciling
  measured (DCGM) and allocated (Slurm) reports of the same slice.

  Called once per tenant per chunk of a consumed batch. All keys share the tenant's hash tag
  {t:<tenant>}, so the step is atomic on a single Redis and on Redis Cluster alike.

  Exactness rests on covered time, not on Kafka offsets. A usage slice is what one report covers:
  (cluster, job, node), node '' when the report covers the whole job. Each slice keeps the set of
  time ranges already counted; a report counts exactly the part of its interval not yet covered (its
  rate is per millisecond, so a measured figure is pro-rated), then that part joins the set, and
  adjacent ranges merge, so a contiguous stream keeps one range per slice. Duplicates, overlapping
  re-reports, out-of-order arrival, replays, recreated topics and a second producer of the same slice
  therefore count once by construction.

  Two kinds of report (docs/accounting.md, "Several sources for one job"): measured (kind 1: the event
  carried tensor activity or operations) and allocated (kind 0: GPUs x time at the pack's default
  utilization). A slice keeps its measured ranges and its allocated ranges (with their rates) apart.
  A measured report counts the time no measured report covered; where an allocation had counted it,
  the difference floor(L x rm + 0.5) - floor(L x ra + 0.5) is added (it may be negative). An allocated
  report counts only time neither kind covered. Coverage (measured and allocated GPU-us, each once per
  slice-time) is kept per job (the third part of its granularity field) and per tenant. A report
  overlapping time of its own kind at another rate counts as before (first wins) and is returned as a
  conflict (allocated: any range's rates; measured: the slice's latest measured report only).

  A job is reported at one granularity, the first seen: whole (node ''), per node (a host) or per GPU
  (host/GPU, a node with a '/'); reports at another granularity are refused (mixed_granularity),
  since the same GPU time would otherwise be counted once per granularity.

  Lateness is bounded in event time: the tenant's watermark is the latest interval end counted for
  it (max_end). Covered ranges ending before the horizon, watermark - lateness (ARGV[2]) - max
  interval, are pruned, and so are slices and jobs idle since before it: memory stays proportional to
  the slices active within the lateness bound. A pruned slice keeps a tombstone, the end of what it
  pruned: a report ending by it is refused (interval_too_late), one across it counts its part after
  it. A report ending more than the age bound (ARGV[5]) before the watermark is refused
  (interval_too_late); tombstones older than that are dropped. Watermark, verdicts, pruning and
  tombstones live in this one atomic step, so they always agree.

  Validation happens before any write: a malformed argument raises a Lua error and nothing is written.

  Cost (what makes a call cheap; docs/accounting.md has the figures): the Redis work of a call is a
  few commands whatever the number of its reports. Each slice's state is one hash field, read once
  and written once; the totals and the lineage shares are read with one HMGET and written with one
  HSET (integers are exact in Lua up to 2^53; a field beyond that is moved with HINCRBY instead).
  The time indexes (idle slices and jobs, slices holding controlled hardware) are sorted sets whose
  score is moved only when it lags the truth by a slack (IDLE_SLACK, a quarter of the active window),
  not on every report; the value of the slice field says where its index stands, so deciding needs
  no read. Queries of the indexes allow for the slack, so every verdict is exact. The common report
  (measured, at or after its slice's measured time, no allocation in the slice) takes a fast path: no
  range walk, no comparison with the latest measured report; what did not change in a slice's field
  (its allocated ranges) is written back as read. Reports of one slice share a class (lineage,
  country, tier, model, control, H100-equivalents) that is parsed once per call (the caller sends each
  class and each slice once), and sums are kept per class and hour, then spread over the breakdown
  fields once. Times are formatted at most once per distinct value per call, rates once per call.

  KEYS[1]  totals   HASH  ops, ub, gpu_us, counted, ctl_ops, ctl1_ops, ops:tier:<n>, ops:country:<cc>,
                          ops:model:<id>, covered_gpu_us:duplicate, covered_gpu_us:overlap,
                          conflicts, conflict_gpu_us, disputed_tera / disputed_ctl_tera /
                          disputed_ctl1_tera (a conflict's disputed excess: the tera-ops the
                          conflicting report claims over the overlap above what was counted there,
                          floor(L x reported + 0.5) - floor(L x counted + 0.5) when positive; all
                          hardware, controlled, controlled Tier 1; moved on conflicting calls only),
                          r365 / r365_from / max_day (trailing 365 days), r24 / r24_from / max_hour
                          (trailing 24 hours), max_end (the watermark), h100e_active, held_cutoff (the
                          active-window cutoff last applied), prune_at (horizon of the next idle pruning)
  KEYS[2]  days     HASH  day index → tera-ops
  KEYS[3]  hours    HASH  hour index → tera-ops (pruned to the trailing 24 h)
  KEYS[4]  cover    HASH  slice key → "measured|allocated|h100e|heldEnd|heldIdx|idleIdx|tomb|latest":
                          measured ranges "start,end;start,end" (epoch ms, sorted, disjoint);
                          allocated ranges "start,end,rate,upper,milliGpus;…"; the H100-equivalents
                          the slice holds while it is in the active index; the end of its last counted
                          interval on controlled Tier 1 hardware; its scores in the active and idle
                          indexes ('' when not in one); its tombstone; its latest measured report
                          "length,rate" (ms, tera-ops per ms as '%.17g'; it ends where the measured
                          ranges do; "start,end,rate" written before still reads). A pruned slice: "~tomb". (An apply-usage-10 field
                          "ranges|h100e|heldEnd|heldIdx|idleIdx" reads as measured ranges.)
  KEYS[5]  slices   ZSET  slice key → end of a recent covered range, at most IDLE_SLACK behind its last
  KEYS[6]  gran     HASH  job key → "<granularity>|idleIdx|measuredGpuUs,allocatedGpuUs": 'w' (whole) |
                          'n' (per node) | 'g' (per GPU), then the job's coverage
  KEYS[7]  jobs     ZSET  job key → end of a recent covered range, at most IDLE_SLACK behind its last
  KEYS[8]  jobops   ZSET  job key → tera-ops (top jobs for evidence; idle jobs outside the top are pruned)
  KEYS[9]  lineages HASH  lineage id → tera-ops
  KEYS[10] active   ZSET  slice key → end of a recent counted interval on controlled Tier 1 hardware, at
                          most ACTIVE_SLACK behind its last: the slices holding H100-equivalents
  KEYS[11] coverage HASH  job key → "measuredGpuUs,allocatedGpuUs" of jobs pruned among the top jobs
  KEYS[12] tombs    ZSET  slice key → its tombstone (pruned slices; dropped beyond the age bound)

  ARGV[1] active window (ms): a slice whose last interval on controlled Tier 1 hardware ended longer
          ago than this before the tenant's watermark no longer counts as held
  ARGV[2] lateness bound (ms)
  ARGV[3] longest interval one report may cover (ms)
  ARGV[4] most idle slices and jobs pruned per call (amortised clean-up)
  ARGV[5] absolute age bound (ms): reports ending longer than this before the watermark are refused
  ARGV[6] the classes of the call's slices, a MessagePack array of arrays: lineageId ('' for none),
          country, tier, modelId, controlled ('1' controlled hardware in a Tier 1 country | 'c'
          controlled elsewhere | '0'), h100e
  ARGV[7] the call's usage slices, each once per kind, in the order of their first report: a MessagePack
          array of [jobKey, node, kind] (node '' = the whole job; kind 1 measured: the event carried
          tensor activity or operations, 0 allocated); a slice reported by both kinds is sent twice
  ARGV[8] the reports, in log order: one flat MessagePack array of numbers, 7 per report: slice
          (0-based index into ARGV[7]), class (0-based index into ARGV[6]), startMs, endMs,
          teraOpsPerMs, upperTeraOpsPerMs, milliGpus
          (MessagePack, unpacked in C by Redis' cmsgpack: numbers arrive as numbers, nothing is
          split or converted in Lua; a report is no table of its own and names no string)

  Measures (what a rule counts; see docs/rules.md). Beside the fields above:
    totals   ctl_ops                        tera-ops on controlled (3A090) hardware anywhere
    days     c1:<day> / c:<day>             day buckets of ctl1_ops / ctl_ops (kept, like the plain ones)
    hours    c1:<hour> / c:<hour>           hour buckets of ctl1_ops / ctl_ops (pruned with the plain ones)
    lineages "<lineage> ctl1", "<lineage> ctl", "<lineage> tier:<n>", "<lineage> country:<cc>"
                                            the tenant's contribution to a lineage split like its totals
                                            (lineage ids contain no space, so these never collide)

  Returns: { counted, duplicates, overlaps, countedMs, duplicateGpuUs, overlapGpuUs,
             ops, ub, gpu_us, ctl1_ops, r365, r24, h100e_active, watermark,
             measuredCoveredGpuUs, prunedGpuUs, supersededGpuUs,
             rejectedCount, conflictCount, clusterCount,
             index1, reason1, tomb1 (0 unless refused before a tombstone), …,
             conflictIndex1, overlapGpuUs1, countedRate1, reportedRate1, …,
             cluster1, measuredGpuUs1, allocatedGpuUs1, …,
             lineageId1, lineageOps1, … }
           counted: reports that counted (or re-rated) some time; duplicates: reports that counted nothing;
           overlaps: reports partly covered; the GPU-µs they carried that was covered is returned
           and added to the covered_gpu_us fields. Rejections name the report's 0-based index in
           this call and a DLQ reason. Lineage pairs cover every lineage named in the call, so a
           retried batch re-evaluates the same subjects as the first attempt did.
  Errors: a Lua error naming the argument ("apply-usage: start of report 3 is not a finite number")
          when an argument is malformed; it is raised before any write, so nothing is written.
]]
local K_TOTALS, K_DAYS, K_HOURS, K_COVER, K_SLICES, K_GRAN, K_JOBS, K_JOBOPS, K_LINEAGES, K_ACTIVE, K_COVERAGE, K_TOMBS =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12]
-- Globals read in loops, as locals (a global is a table lookup each time).
local floor, type = math.floor, type
local HOUR_MS = 3600000
-- An idle-index score moves when the slice's or job's latest end has moved this far past it.
local IDLE_SLACK = HOUR_MS

-- Numbers and their texts; a slice's covered time and its field; the rolling windows; the hardware
-- held; pruning; reads and writes of any length (each include is inlined once, see src/scripts.ts).
-- @include usage-values
-- @include usage-cover
-- @include usage-windows
-- @include usage-held
-- @include usage-prune
-- @include batched

local function finite(n)
  return type(n) == 'number' and n == n and n ~= math.huge and n ~= -math.huge
end

local activeWindow = tonumber(ARGV[1])
local lateness = tonumber(ARGV[2])
local maxInterval = tonumber(ARGV[3])
local pruneLimit = tonumber(ARGV[4])
local maxAge = tonumber(ARGV[5])
if not (activeWindow and lateness and maxInterval and pruneLimit and maxAge) then
  return redis.error_reply('ERR apply-usage: ARGV[1..5] must be numbers')
end
local ACTIVE_SLACK = floor(activeWindow / 4)

-- Phase 1: unpack and check every class and report before anything is read or written.
local function unpackArray(arg, what)
  local ok, value = pcall(cmsgpack.unpack, arg or '')
  if not ok or type(value) ~= 'table' then error('apply-usage: ' .. what .. ' (ARGV[' .. ({ classes = 6, slices = 7, reports = 8 })[what] .. ']) is not a MessagePack array') end
  return value
end
local classOrder = unpackArray(ARGV[6], 'classes')
for i, c in ipairs(classOrder) do
  local lineage, country, tier, model, ctl, h100e = c[1], c[2], c[3], c[4], c[5], c[6]
  if type(lineage) ~= 'string' or type(country) ~= 'string' or type(model) ~= 'string' or type(ctl) ~= 'string'
    or (type(tier) ~= 'string' and type(tier) ~= 'number') then
    error('apply-usage: class ' .. (i - 1) .. ' is not [lineage, country, tier, model, controlled, h100e]')
  end
  if not finite(h100e) then error('apply-usage: H100-equivalents of class ' .. (i - 1) .. ' is not a finite number') end
  classOrder[i] = {
    lineage = lineage, country = country, tier = tostring(tier), model = model,
    ctl1 = ctl == '1', ctl = ctl == '1' or ctl == 'c', h100e = h100e, h100eS = string.format('%.17g', h100e),
    ops = 0, ub = 0, gpu = 0, counted = 0, hours = {},
  }
end
-- The call's slices, each once per kind: { job, key, granularity, measured }; their jobs, each once, in order.
local sliceList = unpackArray(ARGV[7], 'slices')
local jobKeys, sliceKeys, seenJob = {}, {}, {}
for i, sl in ipairs(sliceList) do
  local job, node, kind = sl[1], sl[2], sl[3]
  if type(job) ~= 'string' or type(node) ~= 'string' or job == '' or not (kind == 0 or kind == 1) then
    error('apply-usage: slice ' .. (i - 1) .. ' is not [job, node, kind] with a job and a kind of 0 (allocated) or 1 (measured)')
  end
  local key, g = job, 'w'
  if node ~= '' then
    key = job .. '|' .. node
    if string.find(node, '/', 1, true) then g = 'g' else g = 'n' end
  end
  sliceList[i] = { job = job, key = key, gran = g, measured = kind == 1 }
  sliceKeys[i] = key
  if not seenJob[job] then
    seenJob[job] = true
    jobKeys[#jobKeys + 1] = job
  end
end
-- The reports: one flat array of numbers, REPORT_FIELDS per report (no table per report).
local flat = unpackArray(ARGV[8], 'reports')
local REPORT_FIELDS = 7
local nReports = #flat / REPORT_FIELDS
if nReports ~= floor(nReports) then error('apply-usage: reports (ARGV[8]) hold ' .. #flat .. ' numbers, not a multiple of ' .. REPORT_FIELDS) end
local nSlices, nClasses = #sliceList, #classOrder
for i = 1, nReports do
  local b = (i - 1) * REPORT_FIELDS
  local sl, c, s, e, rate, upper, mgpu = flat[b + 1], flat[b + 2], flat[b + 3], flat[b + 4], flat[b + 5], flat[b + 6], flat[b + 7]
  -- One test for the common case (arithmetic on anything but numbers raises); when it fails, the
  -- checks below name what is wrong (a sum that overflows alone passes them).
  local x = sl + c + s + e + rate + upper + mgpu
  if not (x - x == 0 and e > s and sl >= 0 and sl < nSlices and sl % 1 == 0 and c >= 0 and c < nClasses and c % 1 == 0) then
    local n = i - 1
    if not (type(sl) == 'number' and sl >= 0 and sl < nSlices and sl % 1 == 0) then error('apply-usage: slice of report ' .. n .. ' is not an index into the slices') end
    if not (type(c) == 'number' and c >= 0 and c < nClasses and c % 1 == 0) then error('apply-usage: class of report ' .. n .. ' is not an index into the classes') end
    if not finite(s) then error('apply-usage: start of report ' .. n .. ' is not a finite number') end
    if not finite(e) then error('apply-usage: end of report ' .. n .. ' is not a finite number') end
    if not finite(rate) then error('apply-usage: rate of report ' .. n .. ' is not a finite number') end
    if not finite(upper) then error('apply-usage: upper rate of report ' .. n .. ' is not a finite number') end
    if not finite(mgpu) then error('apply-usage: milli-GPUs of report ' .. n .. ' is not a finite number') end
    if not (e > s) then error('apply-usage: report ' .. n .. ' has an empty interval') end
  end
end

-- Each job's granularity and each slice's state, read with one HMGET per 500 (a rejected report's
-- slice is read and left alone); the totals with one HMGET.
local storedGran = hmgetMany(K_GRAN, jobKeys, {})
local storedCover = hmgetMany(K_COVER, sliceKeys, {})
local TOTALS = { 'max_day', 'r365_from', 'max_hour', 'r24_from', 'max_end', 'held_cutoff', 'prune_at', 'h100e_active',
  'ops', 'ub', 'gpu_us', 'counted', 'ctl_ops', 'ctl1_ops', 'r365', 'r24', 'covered_gpu_us:duplicate', 'covered_gpu_us:overlap' }
-- The breakdown fields this call can move are known from its classes (and the fields that move on
-- some calls only are few): read with the fixed ones, so the common call reads the totals once.
local tot, totDelta, totRead = {}, {}, {}
do
  local fields = {}
  for _, f in ipairs(TOTALS) do fields[#fields + 1] = f; totRead[f] = true end
  local function want(f)
    if not totRead[f] then fields[#fields + 1] = f; totRead[f] = true end
  end
  for _, c in ipairs(classOrder) do
    want('ops:tier:' .. c.tier)
    want('ops:country:' .. c.country)
    want('ops:model:' .. c.model)
  end
  for _, f in ipairs({ 'measured_gpu_us', 'allocated_gpu_us', 'covered_gpu_us:measured', 'covered_gpu_us:pruned',
    'superseded_gpu_us', 'conflicts', 'conflict_gpu_us' }) do want(f) end
  local values = redis.call('HMGET', K_TOTALS, unpack(fields))
  for k, f in ipairs(fields) do tot[f] = opt(values[k]) end
end
local oldWatermark = tot.max_end or 0

-- Phase 2: count.
local watermark = oldWatermark
local counted, duplicates, overlaps, countedMs, dupGpuUs, overlapGpuUs = 0, 0, 0, 0, 0, 0
local measuredCoveredGpuUs, prunedGpuUs, supersededGpuUs, conflictGpuUs = 0, 0, 0, 0
local rejected, conflicts, clusters, clusterOrder = {}, {}, {}, {}
local touchedLineages, lineageOrder = {}, {}
-- A conflict's disputed excess (see KEYS[1]), per measure; touched only in the conflict branches.
local disputedAll, disputedCtl, disputedCtl1 = 0, 0, 0
local function dispute(c, ms, reported, countedRate)
  local x = floor(ms * reported + 0.5) - floor(ms * countedRate + 0.5)
  if x > 0 then
    disputedAll = disputedAll + x
    if c.ctl then disputedCtl = disputedCtl + x end
    if c.ctl1 then disputedCtl1 = disputedCtl1 + x end
  end
end
local slices, sliceOrder = {}, {}   -- slice key -> state (loadSlice) plus lastEnd, counted this call
local jobs, jobOrder = {}, {}       -- job key -> { gran, known, idx, ops, lastEnd, measuredUs, allocatedUs, cluster }

for i = 1, nReports do
  local b = (i - 1) * REPORT_FIELDS
  local sl, c, s, e = sliceList[flat[b + 1] + 1], classOrder[flat[b + 2] + 1], flat[b + 3], flat[b + 4]
  local jobKey = sl.job
  if c.lineage ~= '' and not touchedLineages[c.lineage] then
    touchedLineages[c.lineage] = true
    lineageOrder[#lineageOrder + 1] = c.lineage
  end
  local job = jobs[jobKey]
  if not job then
    local stored = storedGran[jobKey]
    local g, idx, cov = nil, nil, nil
    if stored then g, idx, cov = string.match(stored, '^([^|]*)|?([^|]*)|?(.*)$') end
    job = { gran = g or false, known = g and true or false, idx = known(idx or ''), cov = cov or '', ops = 0, lastEnd = nil, measuredUs = 0, allocatedUs = 0 }
    jobs[jobKey] = job
    jobOrder[#jobOrder + 1] = jobKey
  end
  local g = sl.gran
  if e < watermark - maxAge then
    rejected[#rejected + 1] = { i - 1, 'interval_too_late', 0 }
  elseif job.gran and job.gran ~= g then
    rejected[#rejected + 1] = { i - 1, 'mixed_granularity', 0 }
  else
    job.gran = g
    local key = sl.key
    local slice = slices[key]
    if not slice then
      slice = loadSlice(storedCover[key])
      slices[key] = slice
      sliceOrder[#sliceOrder + 1] = key
    end
    local tomb = slice.tomb
    if tomb and e <= tomb then
      -- Before the slice's tombstone: its time was counted (or known missing) and then pruned.
      rejected[#rejected + 1] = { i - 1, 'interval_too_late', tomb }
    else
      local mgpu, rate, upper = flat[b + 7], flat[b + 5], flat[b + 6]
      if tomb and s < tomb then
        prunedGpuUs = prunedGpuUs + mgpu * (tomb - s)
        s = tomb
      end
      local fresh, freshOps, freshUb, freshGpu, sameKindCoveredMs = 0, 0, 0, 0, 0
      local m = slice.m
      local last = m[#m]
      if sl.measured and #slice.a == 0 and (not last or s >= last[2]) then
        -- The common report: measured, at or after the end of the slice's measured time, no
        -- allocation in the slice. All of it is new; it cannot overlap the latest measured report
        -- (which ends where the measured time does), so it becomes the latest.
        if last and s == last[2] then last[2] = e else m[#m + 1] = { s, e } end
        slice.lb = b
        fresh = e - s
        job.measuredUs = job.measuredUs + mgpu * fresh
        freshOps = floor(fresh * rate + 0.5)
        freshUb = floor(fresh * upper + 0.5)
        freshGpu = mgpu * fresh
      elseif sl.measured then
        -- Measured: the time no measured report covered counts at this rate; where an allocation
        -- counted it, the books add the difference (the allocated figure is taken back).
        local newMs, segs
        local mLast = slice.m[#slice.m]
        local mEnd = mLast and mLast[2]
        newMs, segs, slice.m = cover(slice.m, s, e)
        sameKindCoveredMs = (e - s) - newMs
        -- The slice's latest measured report: this call's (slice.lb, its place in the reports) or the
        -- stored one, whose end is the end of the measured time: read only when this report starts
        -- before that end.
        local lb, ls, le, lr = slice.lb, nil, nil, nil
        if lb then
          ls, le, lr = flat[lb + 3], flat[lb + 4], flat[lb + 5]
        elseif mEnd then
          le = mEnd
          if s < mEnd and slice.latestS then
            -- "length,rate" (it ends at mEnd); a field written before holds "start,end,rate".
            local d, r = string.match(slice.latestS, '^(%d+),([^,]+)$')
            if d then
              ls, lr = mEnd - tonumber(d), tonumber(r)
            else
              local a, z
              a, z, r = string.match(slice.latestS, '^(%-?%d+),(%-?%d+),(.+)$')
              ls, le, lr = tonumber(a), tonumber(z), tonumber(r)
            end
          end
        end
        if lr and s < le and e > ls and not (lr == rate or same(lr, rate)) then
          local ov = math.min(e, le) - math.max(s, ls)
          conflicts[#conflicts + 1] = { i - 1, mgpu * ov, lr, rate }
          conflictGpuUs = conflictGpuUs + mgpu * ov
          dispute(c, ov, rate, lr)
        end
        if not le or e >= le then slice.lb = b end
        if newMs > 0 then
          job.measuredUs = job.measuredUs + mgpu * newMs
          local alloc = slice.a
          local superMs = 0
          if #alloc > 0 then
            local function supersede(ss, se)
              for k = #alloc, 1, -1 do
                local r = alloc[k]
                if r[2] <= ss then break end
                if r[1] < se then
                  local L = math.min(r[2], se) - math.max(r[1], ss)
                  superMs = superMs + L
                  freshOps = freshOps + floor(L * rate + 0.5) - floor(L * r[3] + 0.5)
                  freshUb = freshUb + floor(L * upper + 0.5) - floor(L * r[4] + 0.5)
                  freshGpu = freshGpu + (mgpu - r[5]) * L
                end
              end
            end
            if segs then
              for _, sg in ipairs(segs) do supersede(sg[1], sg[2]) end
            else
              supersede(s, e)
            end
            supersededGpuUs = supersededGpuUs + mgpu * superMs
          end
          fresh = newMs - superMs
          freshOps = freshOps + floor(fresh * rate + 0.5)
          freshUb = freshUb + floor(fresh * upper + 0.5)
          freshGpu = freshGpu + mgpu * fresh
          if superMs > 0 and fresh == 0 then fresh = -1 end -- counted (re-rated), nothing new
        end
      else
        -- Allocated: fills only time no measured report covers; time another allocation covered at
        -- another rate is a conflict (the first counted stays).
        local newMs, segs, conflictMs, conflictRate
        newMs, segs, conflictMs, conflictRate, slice.a = coverAllocated(slice.a, s, e, rate, upper, mgpu)
        slice.aDirty = true
        sameKindCoveredMs = (e - s) - newMs
        if conflictMs > 0 then
          conflicts[#conflicts + 1] = { i - 1, mgpu * conflictMs, conflictRate, rate }
          conflictGpuUs = conflictGpuUs + mgpu * conflictMs
          -- Against the first overlapped range's rate, as the conflict record names it.
          dispute(c, conflictMs, rate, conflictRate)
        end
        if newMs > 0 then
          job.allocatedUs = job.allocatedUs + mgpu * newMs
          local measuredMs = 0
          if #slice.m > 0 then
            if segs then
              for _, sg in ipairs(segs) do measuredMs = measuredMs + overlap(slice.m, sg[1], sg[2]) end
            else
              measuredMs = overlap(slice.m, s, e)
            end
          end
          measuredCoveredGpuUs = measuredCoveredGpuUs + mgpu * measuredMs
          fresh = newMs - measuredMs
          freshOps = floor(fresh * rate + 0.5)
          freshUb = floor(fresh * upper + 0.5)
          freshGpu = mgpu * fresh
        end
      end
      if fresh == 0 then
        duplicates = duplicates + 1
        dupGpuUs = dupGpuUs + mgpu * sameKindCoveredMs
      else
        if sameKindCoveredMs > 0 then
          overlaps = overlaps + 1
          overlapGpuUs = overlapGpuUs + mgpu * sameKindCoveredMs
        end
        counted = counted + 1
        if fresh > 0 then countedMs = countedMs + fresh end
        job.ops = job.ops + freshOps
        c.ops = c.ops + freshOps
        c.ub = c.ub + freshUb
        c.gpu = c.gpu + freshGpu
        c.counted = c.counted + 1
        local hour, hours = floor(e / HOUR_MS), c.hours
        hours[hour] = (hours[hour] or 0) + freshOps
        if c.ctl1 then
          slice.newH100e, slice.newH100eS = c.h100e, c.h100eS
          if not slice.heldEnd or e > slice.heldEnd then slice.heldEnd = e end
        end
        if e > watermark then watermark = e end
      end
    end
    if not slice.lastEnd or e > slice.lastEnd then slice.lastEnd = e end
    if not job.lastEnd or e > job.lastEnd then job.lastEnd = e end
  end
end
-- Coverage per cluster (for the ingest's metrics).
for _, jobKey in ipairs(jobOrder) do
  local job = jobs[jobKey]
  if job.measuredUs > 0 or job.allocatedUs > 0 then
    local cluster = string.match(jobKey, '^([^/]*)/') or ''
    local cl = clusters[cluster]
    if not cl then
      cl = { 0, 0 }
      clusters[cluster] = cl
      clusterOrder[#clusterOrder + 1] = cluster
    end
    cl[1], cl[2] = cl[1] + job.measuredUs, cl[2] + job.allocatedUs
  end
end

-- The classes' sums, spread over the breakdown fields and the hour and day buckets.
local inc, dynamic, lineageInc = {}, {}, {}
local dayInc, hourInc = {}, {}
local measureDayInc, measureHourInc = { c1 = {}, c = {} }, { c1 = {}, c = {} }
local function dyn(field, delta)
  if inc[field] == nil and not totRead[field] then dynamic[#dynamic + 1] = field end
  add(inc, field, delta)
end
for _, c in ipairs(classOrder) do
  if c.counted > 0 then
    add(inc, 'ops', c.ops)
    add(inc, 'ub', c.ub)
    add(inc, 'gpu_us', c.gpu)
    add(inc, 'counted', c.counted)
    dyn('ops:tier:' .. c.tier, c.ops)
    dyn('ops:country:' .. c.country, c.ops)
    dyn('ops:model:' .. c.model, c.ops)
    if c.ctl then add(inc, 'ctl_ops', c.ops) end
    if c.ctl1 then add(inc, 'ctl1_ops', c.ops) end
    if c.lineage ~= '' then
      add(lineageInc, c.lineage, c.ops)
      add(lineageInc, c.lineage .. ' tier:' .. c.tier, c.ops)
      add(lineageInc, c.lineage .. ' country:' .. c.country, c.ops)
      if c.ctl then add(lineageInc, c.lineage .. ' ctl', c.ops) end
      if c.ctl1 then add(lineageInc, c.lineage .. ' ctl1', c.ops) end
    end
    for hour, ops in pairs(c.hours) do
      local day = floor(hour / 24)
      add(hourInc, hour, ops)
      add(dayInc, day, ops)
      if c.ctl then
        add(measureHourInc.c, hour, ops)
        add(measureDayInc.c, day, ops)
      end
      if c.ctl1 then
        add(measureHourInc.c1, hour, ops)
        add(measureDayInc.c1, day, ops)
      end
    end
  end
end
if dupGpuUs > 0 then add(inc, 'covered_gpu_us:duplicate', dupGpuUs) end
if overlapGpuUs > 0 then add(inc, 'covered_gpu_us:overlap', overlapGpuUs) end
-- Fields that move on some calls only are read with the breakdown fields (dyn), not every call.
if measuredCoveredGpuUs > 0 then dyn('covered_gpu_us:measured', measuredCoveredGpuUs) end
if prunedGpuUs > 0 then dyn('covered_gpu_us:pruned', prunedGpuUs) end
if supersededGpuUs > 0 then dyn('superseded_gpu_us', supersededGpuUs) end
if #conflicts > 0 then
  dyn('conflicts', #conflicts)
  dyn('conflict_gpu_us', conflictGpuUs)
end
if disputedAll > 0 then dyn('disputed_tera', disputedAll) end
if disputedCtl > 0 then dyn('disputed_ctl_tera', disputedCtl) end
if disputedCtl1 > 0 then dyn('disputed_ctl1_tera', disputedCtl1) end
for _, cluster in ipairs(clusterOrder) do
  local cl = clusters[cluster]
  if cl[1] > 0 then dyn('measured_gpu_us', cl[1]) end
  if cl[2] > 0 then dyn('allocated_gpu_us', cl[2]) end
end
if #dynamic > 0 then
  local values = redis.call('HMGET', K_TOTALS, unpack(dynamic))
  for k, f in ipairs(dynamic) do tot[f] = opt(values[k]) end
end
for field, delta in pairs(inc) do add(totDelta, field, delta) end

-- The rolling windows: day buckets and the trailing 365 days, hour buckets and the trailing 24 hours.
local marks = {}
local dayBuckets, hourBuckets = newBuckets(K_DAYS), newBuckets(K_HOURS)
roll(dayBuckets, dayInc, { sum = 'r365', from = 'r365_from', max = 'max_day', width = 365, prune = false }, tot, totDelta, marks)
roll(hourBuckets, hourInc, { sum = 'r24', from = 'r24_from', max = 'max_hour', width = 24, prune = true }, tot, totDelta, marks)
-- Measure buckets: days kept like the plain ones; hours only inside the trailing 24 h (roll prunes them).
local maxHour = marks.max_hour or tot.max_hour or 0
for prefix, deltas in pairs(measureDayInc) do
  for idx, delta in pairs(deltas) do pend(dayBuckets, prefix .. ':' .. fmt(idx), delta) end
end
for prefix, deltas in pairs(measureHourInc) do
  for idx, delta in pairs(deltas) do
    if idx > maxHour - 24 then pend(hourBuckets, prefix .. ':' .. fmt(idx), delta) end
  end
end
flushBuckets(dayBuckets)
flushBuckets(hourBuckets)

-- Lineage shares: read once (every lineage named in the call, for the reply), written once.
local lineageTotals = {}
do
  local fields = {}
  for _, l in ipairs(lineageOrder) do fields[#fields + 1] = l end
  for f in pairs(lineageInc) do
    if not touchedLineages[f] then fields[#fields + 1] = f end
  end
  if #fields > 0 then hmgetMany(K_LINEAGES, fields, lineageTotals) end
  local writes = {}
  for f, delta in pairs(lineageInc) do
    local now = (opt(lineageTotals[f]) or 0) + delta
    if math.abs(now) < EXACT then
      writes[#writes + 1] = f
      writes[#writes + 1] = fmt(now)
      lineageTotals[f] = fmt(now)
    else
      lineageTotals[f] = redis.call('HINCRBY', K_LINEAGES, f, fmt(delta))
    end
  end
  if #writes > 0 then writeMany('HSET', K_LINEAGES, writes) end
end

-- H100-equivalents held (usage-held): slices on controlled Tier 1 hardware silent for less than the active window.
local cutoff = watermark - activeWindow
local h100eDelta, activeAdds, activeRems = heldHardware(K_ACTIVE, K_COVER, slices, sliceOrder, cutoff, tot.held_cutoff, ACTIVE_SLACK)
if h100eDelta ~= 0 then add(totDelta, 'h100e_active', h100eDelta) end
marks.held_cutoff = cutoff

-- Covered ranges that end before the horizon (watermark - lateness - max interval) are pruned; the
-- slice keeps a tombstone, the end of what it pruned, so a later report counts only time after it
-- whatever the bound is later raised to. Slices and jobs are moved in the idle indexes when their
-- score lags their latest end by IDLE_SLACK.
local horizon = watermark - lateness - maxInterval
local coverWrites, coverDels, idleAdds, tombAdds = {}, {}, {}, {}
for _, key in ipairs(sliceOrder) do
  local slice = slices[key]
  local m, a = slice.m, slice.a
  local lb = slice.lb
  if lb then
    -- This call's latest measured report becomes the stored one (its text built here, once; its
    -- times are mostly formatted already, its rate once per distinct value).
    slice.latestS = text(flat[lb + 4] - flat[lb + 3]) .. ',' .. rateText(flat[lb + 5])
  end
  if not slice.untouched then
    m = pruneRanges(m, slice, horizon)
    if #a > 0 then
      local kept = pruneRanges(a, slice, horizon)
      if kept ~= a then a, slice.aDirty = kept, true end
    end
    -- The latest measured report ends where the measured time does: gone when that is pruned.
    if #m == 0 then slice.latestS = nil end
    if not slice.idleIdx or slice.lastEnd - slice.idleIdx >= IDLE_SLACK then
      slice.idleIdx = slice.lastEnd
      idleAdds[#idleAdds + 1] = text(slice.lastEnd)
      idleAdds[#idleAdds + 1] = key
    end
  end
  if #m > 0 or #a > 0 or slice.heldIdx then
    coverWrites[#coverWrites + 1] = key
    coverWrites[#coverWrites + 1] = saveSlice(slice, m, a)
  elseif not slice.tomb then
    coverDels[#coverDels + 1] = key
  else
    coverWrites[#coverWrites + 1] = key
    coverWrites[#coverWrites + 1] = '~' .. text(slice.tomb)
    tombAdds[#tombAdds + 1] = text(slice.tomb)
    tombAdds[#tombAdds + 1] = key
  end
end
if #coverWrites > 0 then writeMany('HSET', K_COVER, coverWrites) end
if #idleAdds > 0 then writeMany('ZADD', K_SLICES, idleAdds, 'GT') end
removeMany('HDEL', K_COVER, coverDels)
if #tombAdds > 0 then writeMany('ZADD', K_TOMBS, tombAdds) end
if #activeAdds > 0 then writeMany('ZADD', K_ACTIVE, activeAdds) end
removeMany('ZREM', K_ACTIVE, activeRems)

local gran, jobIdle = {}, {}
for _, jobKey in ipairs(jobOrder) do
  local job = jobs[jobKey]
  if job.lastEnd then
    -- moved: the job is new to the index, or its score lags (then lastEnd is ahead of it).
    local moved = not job.idx or job.lastEnd - job.idx >= IDLE_SLACK
    if moved then
      job.idx = job.lastEnd
      jobIdle[#jobIdle + 1] = text(job.lastEnd)
      jobIdle[#jobIdle + 1] = jobKey
    end
    -- The job's coverage rides in its granularity field ("measuredGpuUs,allocatedGpuUs"), read anyway.
    local covMoved = job.measuredUs > 0 or job.allocatedUs > 0
    if covMoved then
      local m, a = string.match(job.cov, '^(%d+),(%d+)$')
      -- A part that did not move is written back as read.
      local mt, at = m or '0', a or '0'
      if job.measuredUs > 0 then mt = fmt((tonumber(m) or 0) + job.measuredUs) end
      if job.allocatedUs > 0 then at = fmt((tonumber(a) or 0) + job.allocatedUs) end
      job.cov = mt .. ',' .. at
    end
    if moved or covMoved or not job.known then
      gran[#gran + 1] = jobKey
      gran[#gran + 1] = job.gran .. '|' .. text(job.idx) .. '|' .. job.cov
    end
  end
  if job.ops ~= 0 then redis.call('ZINCRBY', K_JOBOPS, fmt(job.ops), jobKey) end
end
if #gran > 0 then writeMany('HSET', K_GRAN, gran) end

if #jobIdle > 0 then writeMany('ZADD', K_JOBS, jobIdle, 'GT') end

-- Idle slices and jobs, and tombstones beyond the age bound (usage-prune): every PRUNE_EVERY of the
-- horizon's movement, and on the next call again while a run leaves work.
if not tot.prune_at or horizon >= tot.prune_at then
  local k = { slices = K_SLICES, cover = K_COVER, tombs = K_TOMBS, jobs = K_JOBS, gran = K_GRAN, jobOps = K_JOBOPS, coverage = K_COVERAGE }
  marks.prune_at = pruneIdle(k, horizon, IDLE_SLACK, watermark, maxAge, pruneLimit)
end

-- The totals: one HSET of every field that moved (integers beyond 2^53 moved by HINCRBY instead).
local writes = {}
if watermark ~= oldWatermark or not tot.max_end then
  writes[1], writes[2] = 'max_end', text(watermark)
  tot.max_end = watermark
end
for field, value in pairs(marks) do
  if tot[field] ~= value then
    writes[#writes + 1] = field
    writes[#writes + 1] = fmt(value)
    tot[field] = value
  end
end
for field, delta in pairs(totDelta) do
  if delta ~= 0 then
    local now = (tot[field] or 0) + delta
    if field == 'h100e_active' then
      writes[#writes + 1] = field
      writes[#writes + 1] = string.format('%.17g', now)
      tot[field] = now
    elseif math.abs(now) < EXACT then
      local text = fmt(now)
      writes[#writes + 1] = field
      writes[#writes + 1] = text
      tot[field] = tonumber(text)
    else
      tot[field] = tonumber(redis.call('HINCRBY', K_TOTALS, field, fmt(delta)))
    end
  end
end
if #writes > 0 then writeMany('HSET', K_TOTALS, writes) end

-- Integers below 2^53 go back as integer replies (no formatting), larger ones and fractions as text.
local function total(field)
  local v = tot[field]
  if v == nil then return 0 end
  if field == 'h100e_active' then return string.format('%.17g', v) end
  if v > -EXACT and v < EXACT then return v end
  return fmt(v)
end
local out = { counted, duplicates, overlaps, fmt(countedMs), fmt(dupGpuUs), fmt(overlapGpuUs),
  total('ops'), total('ub'), total('gpu_us'), total('ctl1_ops'), total('r365'), total('r24'), total('h100e_active') }
out[#out + 1] = watermark
-- GPU-µs sums of this call stay far below 2^53: integer replies, nothing formatted.
out[#out + 1] = measuredCoveredGpuUs
out[#out + 1] = prunedGpuUs
out[#out + 1] = supersededGpuUs
out[#out + 1] = #rejected
out[#out + 1] = #conflicts
out[#out + 1] = #clusterOrder
for _, rej in ipairs(rejected) do
  out[#out + 1] = rej[1]
  out[#out + 1] = rej[2]
  out[#out + 1] = rej[3]
end
for _, cf in ipairs(conflicts) do
  out[#out + 1] = cf[1]
  out[#out + 1] = fmt(cf[2])
  out[#out + 1] = string.format('%.17g', cf[3])
  out[#out + 1] = string.format('%.17g', cf[4])
end
for _, cluster in ipairs(clusterOrder) do
  out[#out + 1] = cluster
  out[#out + 1] = clusters[cluster][1]
  out[#out + 1] = clusters[cluster][2]
end
for _, lineageId in ipairs(lineageOrder) do
  out[#out + 1] = lineageId
  out[#out + 1] = lineageTotals[lineageId] or '0'
end
return out

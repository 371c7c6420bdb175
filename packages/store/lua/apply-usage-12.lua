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
local DAY_MS, HOUR_MS = 86400000, 3600000
local TOP_JOBS_KEPT = 100
local CHUNK = 500
-- Integers up to 2^53 are exact in Lua's doubles; a total beyond it is moved by Redis (HINCRBY).
local EXACT = 9007199254740992
-- An idle-index score moves when the slice's or job's latest end has moved this far past it.
local IDLE_SLACK = HOUR_MS
-- Idle pruning runs when the horizon has moved this far since it last ran, or when it left work.
local PRUNE_EVERY = 10 * 60000

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

local function add(map, key, delta)
  map[key] = (map[key] or 0) + delta
end

-- The text of an epoch-ms time, formatted once per distinct value per call; stored texts are
-- remembered as they are read, so what is written back unchanged is never formatted.
local texts = {}
local function text(n)
  local t = texts[n]
  if not t then
    t = fmt(n)
    texts[n] = t
  end
  return t
end

-- A measured rate as stored in a slice's latest report ('%.17g': exact), once per distinct value per call.
local rateTexts = {}
local function rateText(n)
  local t = rateTexts[n]
  if not t then
    t = string.format('%.17g', n)
    rateTexts[n] = t
  end
  return t
end

-- The shortest of %.15g and %.17g that reads back as the same double (rates are stored exactly).
local function exact(n)
  local t = string.format('%.15g', n)
  if tonumber(t) ~= n then t = string.format('%.17g', n) end
  return t
end

local function opt(v)
  if v == nil or v == '' then return nil end
  return tonumber(v)
end

-- Two rates agree when they differ by no more than a rounding of their computation (the same
-- allocation computed over intervals of different lengths differs in its last bits).
local function same(a, b)
  return a == b or math.abs(a - b) <= 1e-9 * math.max(math.abs(a), math.abs(b))
end

-- Adds [s, e) to a sorted list of disjoint ranges { start, end }, merging overlapping and adjacent
-- ones; returns how much of [s, e) was not covered before, those parts (nil when they are the whole
-- of [s, e)) and the new list. The common case, a report continuing the slice's latest range or
-- following it, changes the list in place and builds no table but the range.
local function cover(ranges, s, e)
  local n = #ranges
  local last = ranges[n]
  if not last or s > last[2] then
    ranges[n + 1] = { s, e }
    return e - s, nil, ranges
  end
  if s == last[2] then
    last[2] = e
    return e - s, nil, ranges
  end
  local out, segs, placed = {}, {}, false
  local fresh, at, ns, ne = 0, s, s, e
  for i = 1, n do
    local r = ranges[i]
    if r[2] < s then
      out[#out + 1] = r
    elseif r[1] > e then
      if not placed then out[#out + 1] = { ns, ne }; placed = true end
      out[#out + 1] = r
    else
      if r[1] > at then
        segs[#segs + 1] = { at, r[1] }
        fresh = fresh + (r[1] - at)
      end
      if r[2] > at then at = r[2] end
      if r[1] < ns then ns = r[1] end
      if r[2] > ne then ne = r[2] end
    end
  end
  if at < e then
    segs[#segs + 1] = { at, e }
    fresh = fresh + (e - at)
  end
  if not placed then out[#out + 1] = { ns, ne } end
  return fresh, segs, out
end

-- How much of [s, e) a sorted list of disjoint ranges covers (walked from the latest: reports
-- mostly meet recent time).
local function overlap(ranges, s, e)
  local total = 0
  for i = #ranges, 1, -1 do
    local r = ranges[i]
    if r[2] <= s then break end
    if r[1] < e then total = total + (math.min(r[2], e) - math.max(r[1], s)) end
  end
  return total
end

-- Adds [s, e) at an allocation's rates to a slice's allocated ranges { start, end, rate, upper,
-- milliGpus, text of the three } (sorted, disjoint; adjacent ranges merge when their rates agree).
-- Returns the time of [s, e) no allocation covered before, those parts (nil: the whole), the time
-- it overlaps at another rate and that rate (a conflict), and the new list.
local function coverAllocated(ranges, s, e, rate, upper, mgpu)
  local n = #ranges
  local last = ranges[n]
  local agree = last and last[5] == mgpu and (last[3] == rate or same(last[3], rate)) and (last[4] == upper or same(last[4], upper))
  if not last or s > last[2] or (s == last[2] and not agree) then
    ranges[n + 1] = { s, e, rate, upper, mgpu }
    return e - s, nil, 0, nil, ranges
  end
  if s == last[2] then
    last[2] = e
    return e - s, nil, 0, nil, ranges
  end
  local all, segs = {}, {}
  local fresh, at, conflictMs, conflictRate = 0, s, 0, nil
  for i = 1, n do
    local r = ranges[i]
    all[#all + 1] = r
    if r[2] > s and r[1] < e then
      if not (same(r[3], rate) and same(r[4], upper) and r[5] == mgpu) then
        conflictMs = conflictMs + (math.min(r[2], e) - math.max(r[1], s))
        conflictRate = conflictRate or r[3]
      end
      if r[1] > at then
        segs[#segs + 1] = { at, r[1] }
        fresh = fresh + (r[1] - at)
      end
      if r[2] > at then at = r[2] end
    end
  end
  if at < e then
    segs[#segs + 1] = { at, e }
    fresh = fresh + (e - at)
  end
  for _, g in ipairs(segs) do all[#all + 1] = { g[1], g[2], rate, upper, mgpu } end
  table.sort(all, function(a, b) return a[1] < b[1] end)
  local out = {}
  for _, r in ipairs(all) do
    local p = out[#out]
    if p and p[2] == r[1] and same(p[3], r[3]) and same(p[4], r[4]) and p[5] == r[5] then
      out[#out] = { p[1], r[2], p[3], p[4], p[5], p[6] }
    else
      out[#out + 1] = r
    end
  end
  return fresh, segs, conflictMs, conflictRate, out
end

-- A time read from a slice's field, its text remembered (see text()).
local function known(t)
  if t == '' then return nil end
  local n = tonumber(t)
  if n then texts[n] = t end
  return n
end

local function parseRanges(v, list)
  for a, b in string.gmatch(v, '(%-?%d+),(%-?%d+)') do
    local s, e = tonumber(a), tonumber(b)
    texts[s], texts[e] = a, b
    list[#list + 1] = { s, e }
  end
  return list
end

-- A slice's field: "measured|allocated|h100e|heldEnd|heldIdx|idleIdx|tomb|latest" (see KEYS[4]), or
-- a tombstone "~tomb". Fields of apply-usage-10 ("ranges|h100e|heldEnd|heldIdx|idleIdx", or bare
-- ranges) read as measured ranges: time counted before never counts again.
local function loadSlice(v)
  -- Every field a touched slice gets, present from the start (false for none): the table is sized
  -- once instead of growing through four rehashes.
  local slice = { m = {}, a = {}, h100eS = '', h100e = false, heldEnd = false, heldIdx = false, idleIdx = false,
    aS = false, latestS = false, tomb = false, lb = false, lastEnd = false, newH100e = false, newH100eS = false }
  if not v then return slice end
  if string.byte(v, 1) == 126 then -- '~'
    slice.tomb = known(string.sub(v, 2))
    return slice
  end
  local m, a, h100e, heldEnd, heldIdx, idleIdx, tomb, latest = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  if not m then
    m, h100e, heldEnd, heldIdx, idleIdx = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
    if not m then m = v end
  end
  if m ~= '' then parseRanges(m, slice.m) end
  if h100e then
    slice.h100e, slice.h100eS = opt(h100e), h100e
    slice.heldEnd, slice.heldIdx, slice.idleIdx = known(heldEnd), known(heldIdx), known(idleIdx)
  end
  -- The allocated text is kept as read: written back as is unless an allocated report or pruning changed it.
  slice.aS = a
  if a and a ~= '' then
    local list = slice.a
    for sa, ea, rates, r, u, g in string.gmatch(a, '(%-?%d+),(%-?%d+),(([^,;]+),([^,;]+),([^,;]+))') do
      local s, e = tonumber(sa), tonumber(ea)
      texts[s], texts[e] = sa, ea
      list[#list + 1] = { s, e, tonumber(r), tonumber(u), tonumber(g), rates }
    end
  end
  if tomb then slice.tomb = known(tomb) end
  -- The latest measured report stays text until a report overlaps measured time (rare: see count).
  if latest and latest ~= '' then slice.latestS = latest end
  return slice
end

-- The end of a slice's covered time (tombstone included), or nil.
local function sliceEnd(slice)
  local t = slice.tomb
  local m, a = slice.m[#slice.m], slice.a[#slice.a]
  if m and (not t or m[2] > t) then t = m[2] end
  if a and (not t or a[2] > t) then t = a[2] end
  return t
end

-- The field's text; the common slice (one measured range, its allocated part untouched) builds no table.
local function saveSlice(slice, m, a)
  local mtext, atext
  if #m == 0 then
    mtext = ''
  elseif #m == 1 then
    mtext = text(m[1][1]) .. ',' .. text(m[1][2])
  else
    local parts = {}
    for i = 1, #m do parts[i] = text(m[i][1]) .. ',' .. text(m[i][2]) end
    mtext = table.concat(parts, ';')
  end
  if not slice.aDirty and slice.aS then
    atext = slice.aS
  elseif #a == 0 then
    atext = ''
  else
    local aparts = {}
    for i = 1, #a do
      local r = a[i]
      if not r[6] then r[6] = exact(r[3]) .. ',' .. exact(r[4]) .. ',' .. exact(r[5]) end
      aparts[i] = text(r[1]) .. ',' .. text(r[2]) .. ',' .. r[6]
    end
    atext = table.concat(aparts, ';')
  end
  local h, held, heldEnd, idle, tomb, latest = '', '', '', '', '', ''
  if slice.heldIdx then h, held = slice.h100eS, text(slice.heldIdx) end
  if slice.heldEnd then heldEnd = text(slice.heldEnd) end
  if slice.idleIdx then idle = text(slice.idleIdx) end
  if slice.tomb then tomb = text(slice.tomb) end
  if slice.latestS then latest = slice.latestS end
  return mtext .. '|' .. atext .. '|' .. h .. '|' .. heldEnd .. '|' .. held .. '|' .. idle .. '|' .. tomb .. '|' .. latest
end

local function finite(n)
  return type(n) == 'number' and n == n and n ~= math.huge and n ~= -math.huge
end

local function hmgetMany(key, fields, out)
  for i = 1, #fields, CHUNK do
    local values = redis.call('HMGET', key, unpack(fields, i, math.min(i + CHUNK - 1, #fields)))
    for k = 1, #values do out[fields[i + k - 1]] = values[k] end
  end
  return out
end

local function writeMany(command, key, flat, option)
  for i = 1, #flat, 2 * CHUNK do
    if option then
      redis.call(command, key, option, unpack(flat, i, math.min(i + 2 * CHUNK - 1, #flat)))
    else
      redis.call(command, key, unpack(flat, i, math.min(i + 2 * CHUNK - 1, #flat)))
    end
  end
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

-- Keeps `sumField` equal to the sum of the last `width` buckets, measured back from the newest
-- bucket this tenant has seen: old buckets leaving the window are subtracted once (amortised O(1)),
-- then this call's deltas inside the window are added. Hour buckets outside the window are pruned.
local marks = {}
-- Bucket increments, written per hash with one HMGET and one HSET after the windows moved (a
-- bucket beyond 2^53 moves by HINCRBY instead).
local pending = { [K_DAYS] = { fields = {}, delta = {} }, [K_HOURS] = { fields = {}, delta = {} } }
local function pend(key, field, delta)
  local p = pending[key]
  if p.delta[field] == nil then p.fields[#p.fields + 1] = field end
  p.delta[field] = (p.delta[field] or 0) + delta
end
local function flush(key)
  local p = pending[key]
  if #p.fields == 0 then return end
  local values = redis.call('HMGET', key, unpack(p.fields))
  local writes = {}
  for k, field in ipairs(p.fields) do
    local now = (opt(values[k]) or 0) + p.delta[field]
    if math.abs(now) < EXACT then
      writes[#writes + 1] = field
      writes[#writes + 1] = fmt(now)
    else
      redis.call('HINCRBY', key, field, fmt(p.delta[field]))
    end
  end
  if #writes > 0 then redis.call('HSET', key, unpack(writes)) end
end
local function roll(buckets, deltas, sumField, fromField, maxField, width, prune)
  local maxIdx = tot[maxField]
  for idx in pairs(deltas) do
    if not maxIdx or idx > maxIdx then maxIdx = idx end
  end
  if not maxIdx then return end
  local windowStart = maxIdx - width + 1
  local from = tot[fromField] or windowStart
  if from < windowStart then
    if windowStart - from >= width then
      totDelta[sumField] = -(tot[sumField] or 0)
      if prune then redis.call('DEL', buckets) end
    else
      for i = from, windowStart - 1 do
        local v = redis.call('HGET', buckets, fmt(i))
        if v and v ~= '0' then add(totDelta, sumField, -tonumber(v)) end
        if v and prune then redis.call('HDEL', buckets, fmt(i)) end
        if prune then redis.call('HDEL', buckets, 'c1:' .. fmt(i), 'c:' .. fmt(i)) end
      end
    end
    from = windowStart
  end
  for idx, delta in pairs(deltas) do
    if idx >= windowStart then
      add(totDelta, sumField, delta)
      pend(buckets, fmt(idx), delta)
    elseif not prune then
      pend(buckets, fmt(idx), delta)
    end
  end
  marks[maxField] = maxIdx
  marks[fromField] = from
end

roll(K_DAYS, dayInc, 'r365', 'r365_from', 'max_day', 365, false)
roll(K_HOURS, hourInc, 'r24', 'r24_from', 'max_hour', 24, true)
-- Measure buckets: days kept like the plain ones; hours only inside the trailing 24 h (roll prunes them).
local maxHour = marks.max_hour or tot.max_hour or 0
for prefix, deltas in pairs(measureDayInc) do
  for idx, delta in pairs(deltas) do pend(K_DAYS, prefix .. ':' .. fmt(idx), delta) end
end
for prefix, deltas in pairs(measureHourInc) do
  for idx, delta in pairs(deltas) do
    if idx > maxHour - 24 then pend(K_HOURS, prefix .. ':' .. fmt(idx), delta) end
  end
end
flush(K_DAYS)
flush(K_HOURS)

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

-- H100-equivalents held: a slice holds from its first counted interval on controlled Tier 1 hardware
-- until that hardware has been silent for the active window. The active index is read only when the
-- cutoff has moved (nothing else can expire a slice); its candidates are every slice whose index
-- score is below the cutoff, which includes every slice whose last such interval is (the score is
-- never ahead of the truth); one whose score merely lags is re-scored.
local cutoff = watermark - activeWindow
local candidates = {}
if not tot.held_cutoff or cutoff > tot.held_cutoff then
  candidates = redis.call('ZRANGEBYSCORE', K_ACTIVE, '-inf', '(' .. fmt(cutoff))
  local unread = {}
  for _, key in ipairs(candidates) do
    if not slices[key] then unread[#unread + 1] = key end
  end
  if #unread > 0 then
    local values = hmgetMany(K_COVER, unread, {})
    for _, key in ipairs(unread) do
      local slice = loadSlice(values[key])
      slice.untouched = true
      slices[key] = slice
      sliceOrder[#sliceOrder + 1] = key
    end
  end
  for _, key in ipairs(candidates) do slices[key].candidate = true end
end
local h100eDelta = 0
local activeAdds, activeRems = {}, {}
for _, key in ipairs(sliceOrder) do
  local slice = slices[key]
  if slice.newH100e or slice.candidate then
    local was = 0
    if slice.heldIdx then was = slice.h100e or 0 end
    if slice.newH100e then slice.h100e, slice.h100eS = slice.newH100e, slice.newH100eS end
    if slice.heldEnd and slice.heldEnd >= cutoff then
      h100eDelta = h100eDelta + (slice.h100e - was)
      if not slice.heldIdx or slice.candidate or slice.heldEnd - slice.heldIdx >= ACTIVE_SLACK then
        activeAdds[#activeAdds + 1] = text(slice.heldEnd)
        activeAdds[#activeAdds + 1] = key
        slice.heldIdx = slice.heldEnd
      end
    else
      h100eDelta = h100eDelta - was
      if slice.heldIdx or slice.candidate then activeRems[#activeRems + 1] = key end
      slice.heldIdx = nil
    end
  end
end
if h100eDelta ~= 0 then add(totDelta, 'h100e_active', h100eDelta) end
marks.held_cutoff = cutoff

-- Covered ranges that end before the horizon (watermark - lateness - max interval) are pruned; the
-- slice keeps a tombstone, the end of what it pruned, so a later report counts only time after it
-- whatever the bound is later raised to. Slices and jobs are moved in the idle indexes when their
-- score lags their latest end by IDLE_SLACK.
local horizon = watermark - lateness - maxInterval
local coverWrites, coverDels, idleAdds, tombAdds = {}, {}, {}, {}
local function prune(ranges, slice)
  if #ranges == 0 or ranges[1][2] >= horizon then return ranges end
  local kept = {}
  for _, r in ipairs(ranges) do
    if r[2] >= horizon then
      kept[#kept + 1] = r
    elseif not slice.tomb or r[2] > slice.tomb then
      slice.tomb = r[2]
    end
  end
  return kept
end
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
    m = prune(m, slice)
    if #a > 0 then
      local kept = prune(a, slice)
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
for i = 1, #coverDels, CHUNK do redis.call('HDEL', K_COVER, unpack(coverDels, i, math.min(i + CHUNK - 1, #coverDels))) end
if #tombAdds > 0 then writeMany('ZADD', K_TOMBS, tombAdds) end
if #activeAdds > 0 then writeMany('ZADD', K_ACTIVE, activeAdds) end
for i = 1, #activeRems, CHUNK do redis.call('ZREM', K_ACTIVE, unpack(activeRems, i, math.min(i + CHUNK - 1, #activeRems))) end

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

-- Idle slices and jobs: their covered time can no longer be met, their granularity no longer
-- matters. An index score is at most IDLE_SLACK behind the truth, so what scores below
-- horizon - IDLE_SLACK is idle for certain. A slice still holding hardware is kept (it cannot be
-- idle unless the active window exceeds the lateness bound). A job's operations stay among the top
-- jobs when they are large enough to be evidence. Runs every PRUNE_EVERY of the horizon's movement,
-- and on the next call again while a run leaves work.
if not tot.prune_at or horizon >= tot.prune_at then
  local idleBelow = '(' .. fmt(horizon - IDLE_SLACK)
  local idle = redis.call('ZRANGEBYSCORE', K_SLICES, '-inf', idleBelow, 'LIMIT', 0, pruneLimit)
  if #idle > 0 then
    local values = hmgetMany(K_COVER, idle, {})
    local dels, tombs, tombScores = {}, {}, {}
    for _, key in ipairs(idle) do
      local v = values[key]
      local slice = v and loadSlice(v)
      if not (slice and slice.heldIdx) then
        dels[#dels + 1] = key
        local t = slice and sliceEnd(slice)
        if t then
          tombs[#tombs + 1] = key
          tombs[#tombs + 1] = '~' .. text(t)
          tombScores[#tombScores + 1] = text(t)
          tombScores[#tombScores + 1] = key
        end
      end
    end
    if #dels > 0 then redis.call('ZREM', K_SLICES, unpack(dels)) end
    if #tombs > 0 then
      writeMany('HSET', K_COVER, tombs)
      writeMany('ZADD', K_TOMBS, tombScores)
    end
  end
  -- Tombstones beyond the absolute age bound: every report they could stop is refused by age.
  local oldTombs = redis.call('ZRANGEBYSCORE', K_TOMBS, '-inf', '(' .. fmt(watermark - maxAge), 'LIMIT', 0, pruneLimit)
  if #oldTombs > 0 then
    local values = hmgetMany(K_COVER, oldTombs, {})
    local dels = {}
    for _, key in ipairs(oldTombs) do
      local v = values[key]
      if v and string.byte(v, 1) == 126 then dels[#dels + 1] = key end
    end
    if #dels > 0 then redis.call('HDEL', K_COVER, unpack(dels)) end
    redis.call('ZREM', K_TOMBS, unpack(oldTombs))
  end
  local idleJobs = redis.call('ZRANGEBYSCORE', K_JOBS, '-inf', idleBelow, 'LIMIT', 0, pruneLimit)
  for _, jobKey in ipairs(idleJobs) do
    local stored = redis.call('HGET', K_GRAN, jobKey)
    redis.call('HDEL', K_GRAN, jobKey)
    redis.call('ZREM', K_JOBS, jobKey)
    local rank = redis.call('ZREVRANK', K_JOBOPS, jobKey)
    if rank and rank >= TOP_JOBS_KEPT then
      redis.call('ZREM', K_JOBOPS, jobKey)
    else
      -- Kept among the top jobs (evidence): so is its coverage.
      local cov = stored and string.match(stored, '^[^|]*|[^|]*|(%d+,%d+)$')
      if cov then redis.call('HSET', K_COVERAGE, jobKey, cov) end
    end
  end
  if #idle >= pruneLimit or #idleJobs >= pruneLimit or #oldTombs >= pruneLimit then
    marks.prune_at = horizon
  else
    marks.prune_at = horizon + PRUNE_EVERY
  end
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

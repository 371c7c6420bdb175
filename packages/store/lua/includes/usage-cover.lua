-- usage-cover: a usage slice's covered time and its field in the tenant's cover hash (KEYS[4] of
-- apply-usage-12.lua, which says what the field holds). Ranges are { start, end } (measured) or
-- { start, end, rate, upper, milliGpus, text of the three } (allocated), sorted and disjoint.
-- @include usage-values

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

-- Reads "start,end;…" into `list`, the texts of the times remembered (usage-values' cache, filled
-- here directly: this runs for every range of every slice a call touches).
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

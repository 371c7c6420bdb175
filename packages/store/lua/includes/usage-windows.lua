-- usage-windows: the day and hour buckets of a tenant and the rolling sums over them (trailing 365
-- days, trailing 24 hours) that apply-usage keeps in its totals.
-- @include usage-values

-- A bucket hash's increments, gathered (pend) and written with one HMGET and one HSET after the
-- windows moved (flushBuckets; a bucket beyond 2^53 moves by HINCRBY instead).
local function newBuckets(key)
  return { key = key, fields = {}, delta = {} }
end

local function pend(buckets, field, delta)
  if buckets.delta[field] == nil then buckets.fields[#buckets.fields + 1] = field end
  buckets.delta[field] = (buckets.delta[field] or 0) + delta
end

local function flushBuckets(buckets)
  local key, fields, delta = buckets.key, buckets.fields, buckets.delta
  if #fields == 0 then return end
  local values = redis.call('HMGET', key, unpack(fields))
  local writes = {}
  for k, field in ipairs(fields) do
    local now = (opt(values[k]) or 0) + delta[field]
    if math.abs(now) < EXACT then
      writes[#writes + 1] = field
      writes[#writes + 1] = fmt(now)
    else
      redis.call('HINCRBY', key, field, fmt(delta[field]))
    end
  end
  if #writes > 0 then redis.call('HSET', key, unpack(writes)) end
end

-- Keeps totals field `window.sum` equal to the sum of the last `window.width` buckets, measured back
-- from the newest bucket this tenant has seen (totals field `window.max`; the oldest bucket in the
-- sum is `window.from`): old buckets leaving the window are subtracted once (amortised O(1)), then
-- this call's `deltas` (bucket index → delta) inside the window are added and pended on `buckets`.
-- With `window.prune`, buckets outside the window are deleted (their measure buckets too).
-- Reads the totals as read (`tot`), adds to `totDelta` and sets the moved marks in `marks`.
local function roll(buckets, deltas, window, tot, totDelta, marks)
  local sumField, fromField, maxField, width, prune = window.sum, window.from, window.max, window.width, window.prune
  local key = buckets.key
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
      if prune then redis.call('DEL', key) end
    else
      for i = from, windowStart - 1 do
        local v = redis.call('HGET', key, fmt(i))
        if v and v ~= '0' then add(totDelta, sumField, -tonumber(v)) end
        if v and prune then redis.call('HDEL', key, fmt(i)) end
        if prune then redis.call('HDEL', key, 'c1:' .. fmt(i), 'c:' .. fmt(i)) end
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

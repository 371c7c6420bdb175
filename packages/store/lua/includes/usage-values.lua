-- usage-values: numbers and their texts for apply-usage (included by `-- @include usage-values`).
-- Times are formatted once per distinct value per call: the cache lives as long as one script call.

-- Integers up to 2^53 are exact in Lua's doubles; a total beyond it is moved by Redis (HINCRBY).
local EXACT = 9007199254740992

local function fmt(n)
  return string.format('%.0f', n)
end

local function opt(v)
  if v == nil or v == '' then return nil end
  return tonumber(v)
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

-- A time read from a slice's field, its text remembered (see text()).
local function known(t)
  if t == '' then return nil end
  local n = tonumber(t)
  if n then texts[n] = t end
  return n
end

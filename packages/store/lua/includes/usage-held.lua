-- usage-held: the H100-equivalents a tenant holds on controlled Tier 1 hardware (apply-usage's
-- h100e_active and its active index, KEYS[10]).
-- @include usage-cover
-- @include batched

-- A slice holds from its first counted interval on controlled Tier 1 hardware until that hardware has
-- been silent for the active window: until `cutoff` (watermark - active window). The active index
-- (`activeKey`) is read only when the cutoff has moved past `lastCutoff` (nothing else can expire a
-- slice); its candidates are every slice whose index score is below the cutoff, which includes every
-- slice whose last such interval is (the score is never ahead of the truth); one whose score merely
-- lags (by `activeSlack` or more) is re-scored. Candidates this call did not touch are read from
-- `coverKey` and join `slices` / `sliceOrder` marked `untouched`.
-- Returns the change of the H100-equivalents held, the index's additions (score, key, …) and removals.
local function heldHardware(activeKey, coverKey, slices, sliceOrder, cutoff, lastCutoff, activeSlack)
  local candidates = {}
  if not lastCutoff or cutoff > lastCutoff then
    candidates = redis.call('ZRANGEBYSCORE', activeKey, '-inf', '(' .. fmt(cutoff))
    local unread = {}
    for _, key in ipairs(candidates) do
      if not slices[key] then unread[#unread + 1] = key end
    end
    if #unread > 0 then
      local values = hmgetMany(coverKey, unread, {})
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
        if not slice.heldIdx or slice.candidate or slice.heldEnd - slice.heldIdx >= activeSlack then
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
  return h100eDelta, activeAdds, activeRems
end

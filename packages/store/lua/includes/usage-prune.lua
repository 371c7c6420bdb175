-- usage-prune: what apply-usage forgets once the lateness bound has passed it (covered ranges, idle
-- slices and jobs, tombstones beyond the age bound), so memory stays proportional to the slices
-- active within the bound.
-- @include usage-cover
-- @include batched

-- Idle jobs outside this many top jobs (by operations) lose their operations too.
local TOP_JOBS_KEPT = 100
-- Idle pruning runs when the horizon has moved this far since it last ran, or when it left work.
local PRUNE_EVERY = 10 * 60000

-- The ranges of `ranges` that end at or after `horizon`; the slice's tombstone moves to the end of
-- the latest one pruned. Returns `ranges` itself when nothing is pruned.
local function pruneRanges(ranges, slice, horizon)
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

-- Idle slices and jobs: their covered time can no longer be met, their granularity no longer
-- matters. An index score is at most `idleSlack` behind the truth, so what scores below
-- horizon - idleSlack is idle for certain. A slice still holding hardware is kept (it cannot be
-- idle unless the active window exceeds the lateness bound); a pruned slice keeps a tombstone. A
-- job's operations stay among the top jobs when they are large enough to be evidence, and so does
-- its coverage. Tombstones older than watermark - maxAge go: every report they could stop is refused
-- by age. At most `limit` of each per call. `k` names the keys: slices, cover, tombs, jobs, gran,
-- jobOps, coverage (apply-usage's KEYS). Returns the horizon at which the next run is due.
local function pruneIdle(k, horizon, idleSlack, watermark, maxAge, limit)
  local idleBelow = '(' .. fmt(horizon - idleSlack)
  local idle = redis.call('ZRANGEBYSCORE', k.slices, '-inf', idleBelow, 'LIMIT', 0, limit)
  if #idle > 0 then
    local values = hmgetMany(k.cover, idle, {})
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
    if #dels > 0 then redis.call('ZREM', k.slices, unpack(dels)) end
    if #tombs > 0 then
      writeMany('HSET', k.cover, tombs)
      writeMany('ZADD', k.tombs, tombScores)
    end
  end
  local oldTombs = redis.call('ZRANGEBYSCORE', k.tombs, '-inf', '(' .. fmt(watermark - maxAge), 'LIMIT', 0, limit)
  if #oldTombs > 0 then
    local values = hmgetMany(k.cover, oldTombs, {})
    local dels = {}
    for _, key in ipairs(oldTombs) do
      local v = values[key]
      if v and string.byte(v, 1) == 126 then dels[#dels + 1] = key end
    end
    if #dels > 0 then redis.call('HDEL', k.cover, unpack(dels)) end
    redis.call('ZREM', k.tombs, unpack(oldTombs))
  end
  local idleJobs = redis.call('ZRANGEBYSCORE', k.jobs, '-inf', idleBelow, 'LIMIT', 0, limit)
  for _, jobKey in ipairs(idleJobs) do
    local stored = redis.call('HGET', k.gran, jobKey)
    redis.call('HDEL', k.gran, jobKey)
    redis.call('ZREM', k.jobs, jobKey)
    local rank = redis.call('ZREVRANK', k.jobOps, jobKey)
    if rank and rank >= TOP_JOBS_KEPT then
      redis.call('ZREM', k.jobOps, jobKey)
    else
      local cov = stored and string.match(stored, '^[^|]*|[^|]*|(%d+,%d+)$')
      if cov then redis.call('HSET', k.coverage, jobKey, cov) end
    end
  end
  if #idle >= limit or #idleJobs >= limit or #oldTombs >= limit then return horizon end
  return horizon + PRUNE_EVERY
end

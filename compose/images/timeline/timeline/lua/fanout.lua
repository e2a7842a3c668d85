-- Insert one tweet id into each list in KEYS, keeping every list sorted newest
-- (largest id) first, without duplicates, and capped: replaying a fan-out is harmless.
-- ARGV: tweet id, cap. Returns how many lists changed.
local id, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local changed = 0
for _, key in ipairs(KEYS) do
  local head = redis.call('LINDEX', key, 0)
  if (not head) or tonumber(head) < id then
    -- The common case: the newest tweet goes on top (trimmed only when over the cap:
    -- each redis.call from Lua costs microseconds, and a post makes ~75 of these).
    if redis.call('LPUSH', key, ARGV[1]) > cap then
      redis.call('LTRIM', key, 0, cap - 1)
    end
    changed = changed + 1
  elseif tonumber(head) ~= id and not redis.call('LPOS', key, ARGV[1]) then
    -- A late (replayed or recovered) tweet: insert it in order, before the first older one.
    local pivot = nil
    for _, v in ipairs(redis.call('LRANGE', key, 0, -1)) do
      if tonumber(v) < id then
        pivot = v
        break
      end
    end
    if pivot then
      redis.call('LINSERT', key, 'BEFORE', pivot, ARGV[1])
      changed = changed + 1
    elseif redis.call('LLEN', key) < cap then
      redis.call('RPUSH', key, ARGV[1])
      changed = changed + 1
    end
    redis.call('LTRIM', key, 0, cap - 1)
  end
end
return changed

-- Fill one list from the source of truth and mark it warm, keeping anything
-- fan-out pushed while it was cold (so a tweet fanned out during a warm-up is not lost).
-- KEYS: list, marker. ARGV: marker value, cap, ids as "id,id,..." (newest first, distinct).
local list, marker = KEYS[1], KEYS[2]
local cap = tonumber(ARGV[2])
if redis.call('EXISTS', list) == 0 then
  -- Fast path (a fresh load): the caller's ids are already newest first and distinct.
  local chunk, n = {}, 0
  for s in string.gmatch(ARGV[3], '%d+') do
    if n == cap then
      break
    end
    n = n + 1
    chunk[#chunk + 1] = s
    if #chunk == 500 then
      redis.call('RPUSH', list, unpack(chunk))
      chunk = {}
    end
  end
  if #chunk > 0 then
    redis.call('RPUSH', list, unpack(chunk))
  end
  redis.call('SET', marker, ARGV[1])
  return n
end
local ids, seen = {}, {}
local function add(s)
  local n = tonumber(s)
  if n and not seen[n] then
    seen[n] = true
    ids[#ids + 1] = n
  end
end
for s in string.gmatch(ARGV[3], '%d+') do
  add(s)
end
for _, s in ipairs(redis.call('LRANGE', list, 0, -1)) do
  add(s)
end
redis.call('DEL', list)
table.sort(ids, function(a, b) return a > b end)
local n = math.min(#ids, cap)
local i = 1
while i <= n do
  local j = math.min(i + 499, n)
  local chunk = {}
  for k = i, j do
    chunk[#chunk + 1] = string.format('%d', ids[k])
  end
  redis.call('RPUSH', list, unpack(chunk))
  i = j + 1
end
redis.call('SET', marker, ARGV[1])
return n

-- One home-timeline read in one round trip: the user's fanned-out list merged
-- with the lists of the celebrities they follow (DDIA's hybrid), newest first,
-- then the tweets' JSON. ARGV: user id, limit.
-- Returns {0} on a miss (a list not warm, or a tweet body missing: the caller
-- reads SQL and repairs), else {1, tweet JSON, tweet JSON, ...}.
-- It reads keys it computes (tl:, ut:, utw:, tw:): fine on one Redis, not on a cluster.
local uid, limit = ARGV[1], tonumber(ARGV[2])
local celebrities = redis.call('GET', 'tlw:' .. uid)
if not celebrities then
  return {0}
end
local lists = {redis.call('LRANGE', 'tl:' .. uid, 0, limit - 1)}
if celebrities ~= '' then
  -- Every redis.call costs several microseconds here: one MGET for all the markers.
  local followed, markers = {}, {}
  for c in string.gmatch(celebrities, '%d+') do
    followed[#followed + 1] = c
    markers[#markers + 1] = 'utw:' .. c
  end
  local warm = redis.call('MGET', unpack(markers))
  for i, c in ipairs(followed) do
    if not warm[i] then
      return {0}
    end
    lists[#lists + 1] = redis.call('LRANGE', 'ut:' .. c, 0, limit - 1)
  end
end
-- k-way merge of lists sorted newest (largest id) first, skipping duplicates.
local heads, pos = {}, {}
for i, list in ipairs(lists) do
  pos[i] = 1
  heads[i] = tonumber(list[1])
end
local keys, last = {}, nil
while #keys < limit do
  local best = nil
  for i = 1, #lists do
    if heads[i] and (best == nil or heads[i] > heads[best]) then
      best = i
    end
  end
  if best == nil then
    break
  end
  local id = heads[best]
  if id ~= last then
    keys[#keys + 1] = 'tw:' .. lists[best][pos[best]]
    last = id
  end
  pos[best] = pos[best] + 1
  heads[best] = tonumber(lists[best][pos[best]])
end
if #keys == 0 then
  return {1}
end
local bodies = redis.call('MGET', unpack(keys))
for i = 1, #keys do
  if not bodies[i] then
    return {0}
  end
end
table.insert(bodies, 1, 1)
return bodies

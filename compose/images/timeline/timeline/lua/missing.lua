-- Which tweet bodies are not cached? ARGV: tweet ids. Returns the missing ids.
local missing = {}
for _, id in ipairs(ARGV) do
  if redis.call('EXISTS', 'tw:' .. id) == 0 then
    missing[#missing + 1] = id
  end
end
return missing

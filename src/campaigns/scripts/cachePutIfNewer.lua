--[[
  cachePutIfNewer: stores a campaign cache entry (L2 of the campaign cache) unless the key
  already holds a newer version, so that a reader that loaded an old row just before a write
  committed cannot put it back over the new one.

  KEYS[1] cache     string: JSON {"version": <ms>, "campaign": {...} | null}

  ARGV[1] version   the entry's version (campaign updated_at, ms)
  ARGV[2] entry     the entry's JSON
  ARGV[3] ttl       time to live, s

  Returns 1 when stored, 0 when the stored version is newer.
]]
local cacheKey = KEYS[1]
local version = tonumber(ARGV[1])

local current = redis.call('GET', cacheKey)
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and tonumber(decoded.version) and tonumber(decoded.version) > version then
    return 0
  end
end

redis.call('SET', cacheKey, ARGV[2], 'EX', ARGV[3])
return 1

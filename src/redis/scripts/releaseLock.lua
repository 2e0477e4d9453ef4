--[[
  releaseLock: compare-and-delete; releases a lock only if the caller still holds it (its lease
  may have expired and another holder taken the lock).

  KEYS[1] lock key
  ARGV[1] token of the caller

  Returns: 1 released; 0 not held by the caller (nothing written).
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0

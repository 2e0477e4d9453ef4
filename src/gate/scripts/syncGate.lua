--[[
  syncGate: applies a committed campaign write (suspend, resume, stock, window, delete) to the
  gate. Writes the config fields whether or not the gate is loaded, so a load that read
  PostgreSQL before this write cannot publish the older state (loadGate compares versions).
  Never touches `issued` or the user counts.

  KEYS[1] gate      hash (see admitClaims.lua)

  ARGV[1] status    active | draft | suspended | ended | gone
  ARGV[2] startsMs  '' for none
  ARGV[3] endsMs    '' for none
  ARGV[4] total
  ARGV[5] limit
  ARGV[6] version   campaign updated_at, ms

  Returns: 1 applied; 0 ignored because the gate holds a newer version.
]]
local gateKey = KEYS[1]
local currentVersion = tonumber(redis.call('HGET', gateKey, 'version') or '-1')
if tonumber(ARGV[6]) < currentVersion then return 0 end
redis.call('HSET', gateKey, 'status', ARGV[1], 'startsMs', ARGV[2], 'endsMs', ARGV[3],
  'total', ARGV[4], 'limit', ARGV[5], 'version', ARGV[6])
return 1

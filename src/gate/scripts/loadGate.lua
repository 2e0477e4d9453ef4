--[[
  loadGate: publishes gate state read from PostgreSQL, atomically, by the holder of the load lock.
  User counts were staged beforehand in KEYS[4] (chunked HSETs); this script swaps them in, so
  the gate never appears loaded with half of its users.

  KEYS[1] gate      hash (see admitClaims.lua)
  KEYS[2] users     hash userId -> claims admitted
  KEYS[3] stream    stream of admitted claims
  KEYS[4] staging   hash of user counts staged by this load (may not exist: no users yet)
  KEYS[5] loadLock  string: token of the loading process

  ARGV[1] token     this load's lock token
  ARGV[2] issued    admitted claims known to PostgreSQL (persisted + dead letters)
  ARGV[3] status    active | draft | suspended | ended | gone
  ARGV[4] startsMs  window start, ms since epoch, or '' for none
  ARGV[5] endsMs    window end, ms since epoch, or '' for none
  ARGV[6] total     stock
  ARGV[7] limit     per-user limit
  ARGV[8] version   campaign updated_at, ms: config fields are only replaced by newer versions
  ARGV[9] group     consumer group name of the stream

  Returns: 1 loaded; 2 already loaded by someone else (nothing written but the staging key
  removed); 3 the load lock is no longer ours (same).
]]
local gateKey = KEYS[1]
local usersKey = KEYS[2]
local streamKey = KEYS[3]
local stagingKey = KEYS[4]
local lockKey = KEYS[5]

if redis.call('HEXISTS', gateKey, 'issued') == 1 then
  redis.call('DEL', stagingKey)
  return 2
end
if redis.call('GET', lockKey) ~= ARGV[1] then
  redis.call('DEL', stagingKey)
  return 3
end
local currentVersion = tonumber(redis.call('HGET', gateKey, 'version') or '-1')
local streamExists = redis.call('EXISTS', streamKey) == 1

if redis.call('EXISTS', stagingKey) == 1 then
  redis.call('RENAME', stagingKey, usersKey)
else
  redis.call('DEL', usersKey)
end
if tonumber(ARGV[8]) >= currentVersion then
  -- A campaign write that reached Redis while we read PostgreSQL (syncGate) keeps precedence.
  redis.call('HSET', gateKey, 'status', ARGV[3], 'startsMs', ARGV[4], 'endsMs', ARGV[5],
    'total', ARGV[6], 'limit', ARGV[7], 'version', ARGV[8])
end
redis.call('HSET', gateKey, 'issued', ARGV[2])
if ARGV[3] == 'gone' then
  return 1
elseif not streamExists then
  redis.call('XGROUP', 'CREATE', streamKey, ARGV[9], '0', 'MKSTREAM')
else
  local created = redis.pcall('XGROUP', 'CREATE', streamKey, ARGV[9], '0')
  if type(created) == 'table' and created.err and not string.find(created.err, 'BUSYGROUP') then
    return redis.error_reply(created.err)
  end
end
return 1

--[[
  admitClaim: the redis-gate. Admits or rejects one claim and, when admitted, enqueues it; one
  atomic step, so admission and enqueue can never disagree (no dual write).

  KEYS[1] gate    hash: status, startsMs, endsMs, total, limit, version; issued (present = loaded)
  KEYS[2] users   hash: userId -> claims admitted for the user
  KEYS[3] stream  stream of admitted claims (consumer group 'workers', created by loadGate)
  KEYS[4] claims  hash: claimId -> "position:userId" while the claim is pending

  ARGV[1] userId
  ARGV[2] claimId (becomes the coupon id)
  ARGV[3] campaignId

  Returns (codes in src/redis/scripts.ts, GateCode):
    {1, position, userSlot}  admitted: position = the campaign's admission counter after this claim
    {0}                      gate not loaded: load it from PostgreSQL and retry
    {-1, status}             campaign not active (draft, suspended, ended)
    {-2, startsMs}           window not open yet
    {-3, endsMs}             window closed
    {-4, held, limit}        user at the per-user limit
    {-5, total}              sold out
    {-6}                     campaign deleted or unknown
  Time is Redis server time (TIME), the same clock for every API process.
]]
local gateKey = KEYS[1]
local usersKey = KEYS[2]
local streamKey = KEYS[3]
local claimsKey = KEYS[4]
local userId = ARGV[1]
local claimId = ARGV[2]

-- Reads and checks: nothing is written before every condition holds.
local gate = redis.call('HMGET', gateKey, 'issued', 'status', 'startsMs', 'endsMs', 'total', 'limit')
local issued = tonumber(gate[1])
if not issued then return {0} end
local status = gate[2]
if status == 'gone' then return {-6} end
if status ~= 'active' then return {-1, status} end

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local startsMs = tonumber(gate[3])
if startsMs and nowMs < startsMs then return {-2, startsMs} end
local endsMs = tonumber(gate[4])
if endsMs and nowMs >= endsMs then return {-3, endsMs} end

local limit = tonumber(gate[6])
local held = tonumber(redis.call('HGET', usersKey, userId) or '0')
if held >= limit then return {-4, held, limit} end
local total = tonumber(gate[5])
if issued >= total then return {-5, total} end

-- Writes.
local slot = redis.call('HINCRBY', usersKey, userId, 1)
local position = redis.call('HINCRBY', gateKey, 'issued', 1)
redis.call('XADD', streamKey, '*', 'c', claimId, 'u', userId, 's', slot, 't', nowMs, 'k', ARGV[3])
redis.call('HSET', claimsKey, claimId, position .. ':' .. userId)
return {1, position, slot}

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
  ARGV[4..8] the stream entry's field names for claimId, userId, userSlot, admittedMs, campaignId,
          in that order (STREAM_ENTRY_FIELD_NAMES, src/gate/stream-entry.ts: the one definition
          of the entry format)

  Returns (codes in src/gate/scripts.ts, GateCode):
    {1, position, userSlot}  admitted: position = the campaign's admission counter after this claim
    {0}                      gate not loaded: load it from PostgreSQL and retry
    {-1, status, startsMs, endsMs, total, issued, limit, held, nowMs}
                             rejected: the snapshot the gate judged (startsMs/endsMs '' for none);
                             TypeScript names the reason with the rule the database strategies use
                             (claimRejection, src/issuance/rules.ts)
    {-2}                     campaign deleted or unknown
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
if status == 'gone' then return {-2} end

local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local startsMs = tonumber(gate[3])
local endsMs = tonumber(gate[4])
local total = tonumber(gate[5])
local limit = tonumber(gate[6])
local held = tonumber(redis.call('HGET', usersKey, userId) or '0')
if status ~= 'active' or (startsMs and nowMs < startsMs) or (endsMs and nowMs >= endsMs)
    or held >= limit or issued >= total then
  return {-1, status, gate[3], gate[4], total, issued, limit, held, nowMs}
end

-- Writes.
local slot = redis.call('HINCRBY', usersKey, userId, 1)
local position = redis.call('HINCRBY', gateKey, 'issued', 1)
redis.call('XADD', streamKey, '*', ARGV[4], claimId, ARGV[5], userId, ARGV[6], slot, ARGV[7], nowMs,
  ARGV[8], ARGV[3])
redis.call('HSET', claimsKey, claimId, position .. ':' .. userId)
return {1, position, slot}

--[[
  admitClaims: the redis-gate for a batch. Admits or rejects each of N claims of one campaign, in
  order, exactly as N calls of admitClaim.lua one after the other would (same keys, same checks,
  same writes), in one script call: one round trip and one script invocation for the claims an API
  process received in one event-loop turn.

  KEYS[1..4] as admitClaim.lua: gate, users, stream, claims
  ARGV[1] campaignId
  ARGV[2..6] the stream entry's field names (STREAM_ENTRY_FIELD_NAMES, src/gate/stream-entry.ts)
  ARGV[7..] userId, claimId pairs, in arrival order

  Returns:
    {0}                        gate not loaded: load it and retry the whole batch (nothing written)
    {-2}                       campaign deleted or unknown
    {1, reply1, reply2, ...}   one reply per claim, each as admitClaim.lua's:
                               {1, position, userSlot} or {-1, status, startsMs, endsMs, total,
                               issued, limit, held, nowMs}
  Time is Redis server time (TIME), read once for the batch.
]]
local gateKey = KEYS[1]
local usersKey = KEYS[2]
local streamKey = KEYS[3]
local claimsKey = KEYS[4]

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
local closed = status ~= 'active' or (startsMs and nowMs < startsMs) or (endsMs and nowMs >= endsMs)

local replies = {1}
for i = 7, #ARGV, 2 do
  local userId = ARGV[i]
  local claimId = ARGV[i + 1]
  local held = tonumber(redis.call('HGET', usersKey, userId) or '0')
  if closed or held >= limit or issued >= total then
    replies[#replies + 1] = {-1, status, gate[3], gate[4], total, issued, limit, held, nowMs}
  else
    local slot = redis.call('HINCRBY', usersKey, userId, 1)
    issued = redis.call('HINCRBY', gateKey, 'issued', 1)
    redis.call('XADD', streamKey, '*', ARGV[2], claimId, ARGV[3], userId, ARGV[4], slot, ARGV[5], nowMs,
      ARGV[6], ARGV[1])
    redis.call('HSET', claimsKey, claimId, issued .. ':' .. userId)
    replies[#replies + 1] = {1, issued, slot}
  end
end
return replies

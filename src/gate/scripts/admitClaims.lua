--[[
  admitClaims: the redis-gate. Admits or rejects each of N claims of one campaign in arrival order
  and enqueues the admitted ones, in one atomic step, so admission and enqueue can never disagree
  (no dual write); one round trip and one script call for the claims an API process received in one
  event-loop turn. Each claim is judged on the state the claims before it left: first the user's
  claim rate limit, then the user's count against the per-user limit, the stock, the window and
  the status.

  KEYS[1] gate    hash: status, startsMs, endsMs, total, limit, version; issued (present = loaded)
  KEYS[2] users   hash: userId -> claims admitted for the user
  KEYS[3] stream  stream of admitted claims
  KEYS[4] claims  hash: claimId -> "position:userId" while the claim is pending
  KEYS[5..4+N] one per claim, in claim order (none when ARGV[7] is 0): string, the claim's user's
               count of claims on this campaign in the current rate-limit window (PX = the window)
  ARGV[1] campaignId
  ARGV[2..6] the stream entry's field names (STREAM_ENTRY_FIELD_NAMES, src/gate/stream-entry.ts)
  ARGV[7] rateMax       claims one user may send per window (0 = no rate limit)
  ARGV[8] rateWindowMs  the window, ms; it opens at the user's first counted claim (fixed window)
  ARGV[9..] userId, claimId pairs, in arrival order

  Returns:
    {0}                        gate not loaded: load it and retry the whole batch (nothing written)
    {-2}                       campaign deleted or unknown (nothing written)
    {1, reply1, reply2, ...}   one reply per claim (codes in src/gate/scripts.ts, GateCode):
                               {1, position, userSlot}  admitted: position = the campaign's
                                 admission counter after this claim
                               {-1, status, startsMs, endsMs, total, issued, limit, held, nowMs}
                                 rejected: the snapshot judged (startsMs/endsMs '' for none);
                                 TypeScript names the reason with claimRejection
                                 (src/issuance/rules.ts), the rule of the database strategies
                               {-3, rateMax, ttlMs, rateWindowMs}  rate-limited: the user already
                                 sent rateMax claims in the window, which closes in ttlMs
  A claim that gets past the rate limit counts against it whatever the gate answers (as a claim
  reaching @fastify/rate-limit did); a rate-limited one does not add to the count.
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
local rateMax = tonumber(ARGV[7])
local rateWindowMs = tonumber(ARGV[8])

local replies = {1}
local claimIndex = 0
for i = 9, #ARGV, 2 do
  claimIndex = claimIndex + 1
  local userId = ARGV[i]
  local claimId = ARGV[i + 1]
  -- The claim's reads and checks, then its writes.
  local rateKey = KEYS[4 + claimIndex]
  local sent = 0
  local ttlMs = -2
  if rateMax > 0 then
    sent = tonumber(redis.call('GET', rateKey) or '0')
    if sent > 0 then ttlMs = redis.call('PTTL', rateKey) end
  end
  -- A counter without a live expiry (gone, or set by hand) starts a new window.
  local windowOpen = ttlMs > 0
  if rateMax > 0 and windowOpen and sent >= rateMax then
    replies[#replies + 1] = {-3, rateMax, ttlMs, rateWindowMs}
  else
    local held = tonumber(redis.call('HGET', usersKey, userId) or '0')
    local rejected = closed or held >= limit or issued >= total
    if rateMax > 0 then
      if windowOpen then
        redis.call('INCR', rateKey)
      else
        redis.call('SET', rateKey, 1, 'PX', rateWindowMs)
      end
    end
    if rejected then
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
end
return replies

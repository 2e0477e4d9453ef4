--[[
  requeueClaim: puts a dead-lettered claim back into its campaign's stream (`stampede
  dead-letters retry`). The gate already counted it when it was admitted, so neither `issued`
  nor the user count changes.

  KEYS[1] stream
  KEYS[2] claims    hash claimId -> "position:userId"

  ARGV[1] claimId
  ARGV[2] userId
  ARGV[3] position  the claim's original place in line
  ARGV[4..] the entry's field list, name and value pairs, as encodeStreamEntry
            (src/gate/stream-entry.ts) builds it

  Returns: 1 queued; 0 when the stream does not exist (gate not loaded: nothing written).
]]
local streamKey = KEYS[1]
local claimsKey = KEYS[2]
if redis.call('EXISTS', streamKey) == 0 then return 0 end
redis.call('XADD', streamKey, '*', unpack(ARGV, 4))
redis.call('HSET', claimsKey, ARGV[1], ARGV[3] .. ':' .. ARGV[2])
return 1

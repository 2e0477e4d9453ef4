--[[
  ackClaims: after a worker committed claims to PostgreSQL (or dead-lettered them), acknowledges
  their stream entries, deletes them from the stream and forgets their pending records. Only
  entries passed here are deleted: trimming never drops an unacked entry.

  KEYS[1] stream
  KEYS[2] claims    hash claimId -> "position:userId"

  ARGV[1] group
  ARGV[2..] pairs: entryId, claimId (claimId may be '' for an entry without one)

  Returns: the number of entries acknowledged (0 for those already acked or gone).
]]
local streamKey = KEYS[1]
local claimsKey = KEYS[2]
local group = ARGV[1]
local acked = 0
local CHUNK = 500 -- stays far below Lua's unpack limit
local ids, claimIds = {}, {}
local function flush()
  if #ids > 0 then
    acked = acked + redis.call('XACK', streamKey, group, unpack(ids))
    redis.call('XDEL', streamKey, unpack(ids))
  end
  if #claimIds > 0 then redis.call('HDEL', claimsKey, unpack(claimIds)) end
  ids, claimIds = {}, {}
end
for i = 2, #ARGV, 2 do
  ids[#ids + 1] = ARGV[i]
  if ARGV[i + 1] ~= '' then claimIds[#claimIds + 1] = ARGV[i + 1] end
  if #ids >= CHUNK then flush() end
end
flush()
return acked

-- wrk script of bench/gate.ts: POST {"userId":"<prefix><n>"}, a different user per request, so the
-- per-user limit of 1 never rejects. Argument: the user-id prefix (distinct per run).
local prefix = "u"
local n = 0

function init(args)
  if args[1] then prefix = args[1] end
end

function request()
  n = n + 1
  return wrk.format("POST", nil, nil, '{"userId":"' .. prefix .. n .. '"}')
end

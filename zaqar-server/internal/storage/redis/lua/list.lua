-- List: ARGV = marker, limit, include claimed (0/1), include delayed (0/1),
-- echo (0/1), reader client id. Returns now, then nine fields per message.
local marker, limit = ARGV[1], tonumber(ARGV[2])
local withClaimed, withDelayed, echo, client = ARGV[3] == '1', ARGV[4] == '1', ARGV[5] == '1', ARGV[6]
local out, n = {num(now)}, 0
scan(marker, math.max(limit, 20), function(id, m)
	if live(m) and (withClaimed or not claimed(m)) and (withDelayed or not delayed(m))
		and (echo or client == '' or m[CLIENT] ~= client) then
		view(out, id, m)
		n = n + 1
	end
	return n >= limit
end)
return out

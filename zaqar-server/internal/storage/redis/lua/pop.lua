-- Pop: ARGV = limit. Removes and returns (now, then nine fields each) up to
-- limit of the oldest messages not under a live claim, delayed ones included
-- as in Zaqar; expired messages met on the way are dropped.
local limit = tonumber(ARGV[1])
local out, n, taken = {num(now)}, 0, {}
scan('-inf', math.max(limit, 20), function(id, m)
	if not live(m) then
		taken[#taken + 1] = id
	elseif not claimed(m) then
		view(out, id, m)
		taken[#taken + 1] = id
		n = n + 1
	end
	return n >= limit
end)
drop(taken)
gc()
return out

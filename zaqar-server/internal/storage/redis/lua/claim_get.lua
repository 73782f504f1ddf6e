-- ClaimGet: ARGV = claim id. Returns now, then expiry, ttl and grace and
-- nine fields per live message the claim holds; only now when not live.
local cid = ARGV[1]
local out = {num(now)}
local c = getc(cid)
if not c then return out end
out[2], out[3], out[4] = num(c[1]), num(c[2]), num(c[3])
for i = 4, #c do
	local m = getm(c[i])
	if m and live(m) and m[CLAIM] == cid and claimed(m) then view(out, c[i], m) end
end
return out

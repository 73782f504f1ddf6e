-- ClaimUpdate: ARGV = claim id, ttl ms, grace ms. Renews a live claim from
-- now and extends its messages as a claim does; returns 0, or 1 when the
-- claim is not live.
local cid, cttl, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local c = getc(cid)
if not c then return 1 end
local cexp = now + cttl
-- Shortened: the claim hint may promise its messages for too long (claim.lua).
if cexp < c[1] then redis.call('HDEL', REC, 'ch', 'chx') end
local n, ms, es = {cexp, cttl, grace}, {}, {}
for i = 4, #c do
	local m = getm(c[i])
	if m and live(m) and m[CLAIM] == cid and claimed(m) then
		m[CLAIM_EXP] = cexp
		extend(m, cexp, cttl, grace)
		ms[#ms + 1] = c[i]
		ms[#ms + 1] = cmsgpack.pack(m)
		es[#es + 1] = score(m[EXPIRES])
		es[#es + 1] = c[i]
		n[#n + 1] = c[i]
	end
end
each('HSET', MSG, ms)
each('ZADD', EXP, es)
putc(cid, n)
gc()
reexpire(cexp + grace) -- nothing added expires later
return 0

-- ClaimDelete: ARGV = claim id. Releases the claim: the messages it still
-- holds become claimable at once.
local cid = ARGV[1]
local p = redis.call('HGET', CLM, cid)
if p then
	local c = cmsgpack.unpack(p)
	local freed, ms = 0, {}
	for i = 4, #c do
		local m = getm(c[i])
		if m and m[CLAIM] == cid then
			m[CLAIM], m[CLAIM_EXP] = '', 0
			ms[#ms + 1] = c[i]
			ms[#ms + 1] = cmsgpack.pack(m)
			freed = freed + 1
		end
	end
	each('HSET', MSG, ms)
	if freed > 0 then redis.call('PUBLISH', REC .. ':wake', freed) end -- as post.lua
	redis.call('HDEL', CLM, cid)
	redis.call('ZREM', CLX, cid)
	redis.call('HDEL', REC, 'ch', 'chx') -- its messages are free again (claim.lua)
end
gc()
return 0

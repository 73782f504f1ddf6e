-- Delete: ARGV = pairs of message id and claim id ('' for none), applied in
-- order (concurrent single deletes of one queue go in one call). Returns a
-- code per pair: 0 deleted or absent, 1 claimed by another (or any) claim,
-- 2 not claimed, 3 no such live claim (storage.MessageStore.Delete).
local codes = {}
for i = 1, #ARGV, 2 do
	local id, cid = ARGV[i], ARGV[i + 1]
	local code = 0
	local m = getm(id)
	if m and live(m) then
		if cid == '' then
			if claimed(m) then code = 1 end
		elseif not getc(cid) then
			code = 3
		elseif not claimed(m) then
			code = 2
		elseif m[CLAIM] ~= cid then
			code = 1
		end
		if code == 0 then drop(id) end
	end
	codes[#codes + 1] = code
end
gc()
return codes

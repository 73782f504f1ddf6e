-- Delete: ARGV = pairs of message id and claim id ('' for none), applied in
-- order (concurrent single deletes of one queue go in one call). Returns a
-- code per pair: 0 deleted or absent, 1 claimed by another (or any) claim,
-- 2 not claimed, 3 no such live claim (storage.MessageStore.Delete).
local codes, gone, deleted = {}, {}, {}
for i = 1, #ARGV, 2 do
	local id, cid = ARGV[i], ARGV[i + 1]
	local code = 0
	local m = nil
	if not deleted[id] then m = getm(id) end -- else deleted earlier in this call: absent
	if m and live(m) then
		-- A message under the named claim, not yet expired, proves the claim
		-- live (claims and renewals write its expiry into their messages):
		-- the common case of a consumer deleting what it claimed reads no
		-- claim.
		if cid ~= '' and m[CLAIM] == cid and claimed(m) then
			code = 0
		elseif cid == '' then
			if claimed(m) then code = 1 end
		elseif not getc(cid) then
			code = 3
		elseif not claimed(m) then
			code = 2
		else
			code = 1
		end
		if code == 0 then
			deleted[id] = true
			gone[#gone + 1] = id
		end
	end
	codes[#codes + 1] = code
end
drop(gone)
gc()
return codes

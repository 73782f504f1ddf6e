-- DeleteMany: ARGV = check claims (0/1), number of ids, ids, claim ids.
-- With the check every live message must be under a live claim named in the
-- claim ids, else nothing is deleted and the result is 1.
local check, n = ARGV[1] == '1', tonumber(ARGV[2])
local allowed = {}
for i = 3 + n, #ARGV do allowed[ARGV[i]] = true end
local victims = {}
for i = 3, 2 + n do
	local m = getm(ARGV[i])
	if m and live(m) then
		if check and not (claimed(m) and allowed[m[CLAIM]]) then return 1 end
		victims[#victims + 1] = ARGV[i]
	end
end
drop(victims)
gc()
return 0

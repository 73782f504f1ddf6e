-- Delete: ARGV = id, claim id ('' for none). Returns 0 when deleted or
-- absent, 1 claimed by another (or any) claim, 2 not claimed, 3 no such
-- live claim (storage.MessageStore.Delete).
local id, cid = ARGV[1], ARGV[2]
local m = getm(id)
if not m or not live(m) then return 0 end
if cid == '' then
	if claimed(m) then return 1 end
else
	if not getc(cid) then return 3 end
	if not claimed(m) then return 2 end
	if m[CLAIM] ~= cid then return 1 end
end
drop(id)
gc()
return 0

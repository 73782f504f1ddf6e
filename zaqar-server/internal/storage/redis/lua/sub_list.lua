-- SubList: ARGV = marker, limit. Returns now and six fields per live
-- subscription with an id above marker, by id.
local marker, limit = ARGV[1], tonumber(ARGV[2])
local ids = {}
for _, id in ipairs(redis.call('HKEYS', SUB)) do
	if id > marker then ids[#ids + 1] = id end
end
table.sort(ids)
local out, n = {num(now)}, 0
for _, id in ipairs(ids) do
	if n >= limit then break end
	local s = gets(id)
	if s then
		viewsub(out, id, s)
		n = n + 1
	end
end
return out

-- Stats: returns now, total, claimed, then id and creation time of the
-- oldest and newest live messages (empty when there are none).
local total = redis.call('ZCARD', ORD) - redis.call('ZCOUNT', EXP, '-inf', num(now))
local held = 0
for _, cid in ipairs(redis.call('ZRANGEBYSCORE', CLX, '(' .. num(now), '+inf')) do
	local c = getc(cid)
	if c then
		for i = 4, #c do
			local m = getm(c[i])
			if m and live(m) and m[CLAIM] == cid and claimed(m) then held = held + 1 end
		end
	end
end
local function edge(cmd)
	local i = 0
	while true do
		local ids = redis.call(cmd, ORD, i, i + 19)
		if #ids == 0 then return '', '0' end
		for _, id in ipairs(ids) do
			local m = getm(id)
			if m and live(m) then return id, num(m[CREATED]) end
		end
		i = i + 20
	end
end
local oid, ocr = edge('ZRANGE')
local nid, ncr = edge('ZREVRANGE')
return {num(now), total, held, oid, ocr, nid, ncr}

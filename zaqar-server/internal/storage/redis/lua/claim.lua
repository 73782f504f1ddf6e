-- Claim: ARGV = claim id, ttl ms, grace ms, limit, max claim count (0: no
-- dead-lettering), dead-letter queue name, dead-letter ttl ms.
--
-- Returns now, the claim's expiry ('' when nothing was claimed), the number
-- of claimed messages and nine fields for each, then three fields (id,
-- dead-letter queue, entry) for each message waiting in the outbox.
--
-- A message whose claim count reached the maximum leaves the queue here and
-- waits in the outbox (OUT) for the Go side to deliver it to the dead-letter
-- queue, whose keys live in another slot (see the package doc).
local cid, cttl, grace, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local maxCount, dlq, dlqTTL = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local deadLetter = maxCount > 0 and dlq ~= ''
gc()
local out = {num(now)}
local cexp = now + cttl
local picked, expired = {}, {}
if redis.call('EXISTS', REC) == 1 then
	scan('-inf', math.max(limit, 20), function(id, m)
		if not live(m) then
			expired[#expired + 1] = id
		elseif not claimed(m) and not delayed(m) then
			picked[#picked + 1] = {id, m}
		end
		return #picked >= limit
	end)
end
for _, id in ipairs(expired) do drop(id) end

local c = {cexp, cttl, grace}
local views = {}
for _, p in ipairs(picked) do
	local id, m = p[1], p[2]
	if deadLetter and m[COUNT] >= maxCount then
		-- Arrives unclaimed, undelayed, and with a fresh life when asked.
		m[CLAIM], m[CLAIM_EXP], m[DELAY] = '', 0, 0
		if dlqTTL > 0 then m[TTL], m[EXPIRES] = dlqTTL, now + dlqTTL end
		local body = redis.call('HGET', BODY, id) or ''
		drop(id)
		redis.call('HSET', OUT, id, cmsgpack.pack({dlq, m, body}))
	else
		m[CLAIM], m[CLAIM_EXP], m[COUNT] = cid, cexp, m[COUNT] + 1
		if extend(m, cexp, cttl, grace) then redis.call('ZADD', EXP, score(m[EXPIRES]), id) end
		redis.call('HSET', MSG, id, cmsgpack.pack(m))
		c[#c + 1] = id
		view(views, id, m)
	end
end
if #c > 3 then
	putc(cid, c)
	reexpire(cexp + grace) -- nothing added expires later
	out[2] = num(cexp)
else
	out[2] = ''
end
out[3] = #c - 3
for _, v in ipairs(views) do out[#out + 1] = v end
local pending = redis.call('HSCAN', OUT, 0, 'COUNT', 20)[2]
for i = 1, #pending, 2 do
	local e = cmsgpack.unpack(pending[i + 1])
	out[#out + 1] = pending[i]
	out[#out + 1] = e[1]
	out[#out + 1] = pending[i + 1]
end
return out

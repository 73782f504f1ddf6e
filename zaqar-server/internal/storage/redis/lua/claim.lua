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
local out = {num(now)}
local cexp = now + cttl
local picked, expired = {}, {}
-- The record's hint (ch, chx) skips the queue's head of held messages: every
-- message up to marker ch is claimed until at least chx, or gone. Work
-- queues keep their in-flight messages at the head, so without it each
-- claim would read them all again. A release, or a renewal that shortens a
-- claim, removes the hint; time ends it.
local hint = redis.call('HMGET', REC, 'ctr', 'ch', 'chx', 'gct', 'kexp')
gc(hint[1] ~= false, hint[4])
local from, until_ = '-inf', math.huge
if hint[2] and tonumber(hint[3]) > now then from, until_ = hint[2], tonumber(hint[3]) end
local held, moved = true, false -- all scanned so far held (or gone); hint to write
if hint[1] then
	scan(from, math.max(limit, 20), function(id, m)
		if not live(m) then
			expired[#expired + 1] = id
		elseif claimed(m) then
			if held then from, until_, moved = num(m[MARKER]), math.min(until_, m[CLAIM_EXP]), true end
		elseif delayed(m) then
			held = false
		else
			picked[#picked + 1] = {id, m}
			-- Claimed below until cexp, or dead-lettered (gone).
			if held then from, until_, moved = num(m[MARKER]), math.min(until_, cexp), true end
		end
		return #picked >= limit
	end)
	if moved then redis.call('HSET', REC, 'ch', from, 'chx', num(until_)) end
end
drop(expired)

local c = {cexp, cttl, grace}
local views, ms, es, dead, outs = {}, {}, {}, {}, {}
for _, p in ipairs(picked) do
	local id, m = p[1], p[2]
	if deadLetter and m[COUNT] >= maxCount then
		-- Arrives unclaimed, undelayed, and with a fresh life when asked.
		m[CLAIM], m[CLAIM_EXP], m[DELAY] = '', 0, 0
		if dlqTTL > 0 then m[TTL], m[EXPIRES] = dlqTTL, now + dlqTTL end
		dead[#dead + 1] = id
		outs[#outs + 1] = id
		outs[#outs + 1] = cmsgpack.pack({dlq, m})
	else
		m[CLAIM], m[CLAIM_EXP], m[COUNT] = cid, cexp, m[COUNT] + 1
		if extend(m, cexp, cttl, grace) then
			es[#es + 1] = score(m[EXPIRES])
			es[#es + 1] = id
		end
		ms[#ms + 1] = id
		ms[#ms + 1] = cmsgpack.pack(m)
		c[#c + 1] = id
		view(views, id, m)
	end
end
-- One command per structure for the lot.
if #dead > 0 then
	drop(dead)
	each('HSET', OUT, outs)
end
each('HSET', MSG, ms)
each('ZADD', EXP, es)
if #c > 3 then
	putc(cid, c)
	reexpire(cexp + grace, hint[5]) -- nothing added expires later
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

-- Library of the queue scripts: the keys of one queue, which share a hash
-- tag, passed by the Go side in this order.
local REC, ORD, MSG, EXP, CLM, CLX, OUT, RX =
	KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]

-- A message is one cmsgpack array in MSG, its state and then its body: one
-- command reads or writes both (layout 2; layout 1 kept bodies in a hash
-- of their own, see redis.go checkLayout).
local MARKER, CREATED, EXPIRES, TTL, DELAY, CLAIM, CLAIM_EXP, COUNT, CLIENT, CHECKSUM, BODY =
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11

local function getm(id)
	local p = redis.call('HGET', MSG, id)
	if not p then return nil end
	return cmsgpack.unpack(p)
end

local function live(m) return m[EXPIRES] == 0 or m[EXPIRES] > now end
local function claimed(m) return m[CLAIM] ~= '' and m[CLAIM_EXP] > now end
local function delayed(m) return m[DELAY] > now end

-- each runs cmd on key with the arguments in list, 1,000 at a time
-- (unpack's limit is near 8,000); list holds pairs when cmd takes them.
local function each(cmd, key, list)
	for i = 1, #list, 1000 do
		redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
	end
end

-- drop removes messages from every structure of the queue: three commands
-- for the lot, however many there are.
local function drop(ids)
	each('ZREM', ORD, ids)
	each('ZREM', EXP, ids)
	each('HDEL', MSG, ids)
end

-- view appends what a reader sees of message id to out: nine fields, the
-- claim id only while that claim is live.
local function view(out, id, m)
	local c = ''
	if claimed(m) then c = m[CLAIM] end
	local n = #out
	out[n + 1] = id
	out[n + 2] = m[BODY] or ''
	out[n + 3] = num(m[MARKER])
	out[n + 4] = num(m[TTL])
	out[n + 5] = num(m[CREATED])
	out[n + 6] = m[CLIENT]
	out[n + 7] = c
	out[n + 8] = num(m[COUNT])
	out[n + 9] = m[CHECKSUM]
end

-- A claim is a cmsgpack array in CLM: expiry, ttl, grace, then the ids of
-- the messages it took; CLX scores claim ids by expiry for the GC.
local function getc(cid)
	if cid == '' then return nil end
	local p = redis.call('HGET', CLM, cid)
	if not p then return nil end
	local c = cmsgpack.unpack(p)
	if c[1] <= now then return nil end
	return c
end

local function putc(cid, c)
	redis.call('HSET', CLM, cid, cmsgpack.pack(c))
	redis.call('ZADD', CLX, num(c[1]), cid)
end

-- extend keeps a claimed message that would end no later than its claim
-- (as in Zaqar's Redis driver) alive until the claim's end plus grace
-- (zaqar-semantics 4): its TTL then reads claim ttl + grace.
local function extend(m, cexp, cttl, grace)
	if m[EXPIRES] ~= 0 and m[EXPIRES] <= cexp then
		m[EXPIRES] = cexp + grace
		m[TTL] = cttl + grace
		return true
	end
	return false
end

-- gc is the bounded reclamation writes run: up to 32 expired messages, 8
-- expired claims and 32 expired dead-letter receipts. Reads filter by time,
-- so it only reclaims memory, and it runs once a second per queue while it
-- keeps up: the record's 'gct' says when it is due next, and a run that
-- leaves nothing behind sets it a second on; a run that hits a bound leaves
-- it, so the next write runs it again. A caller that has read the record
-- passes whether it exists and its gct (false: unset); gct is only written
-- in an existing record (it must never create a queue).
local function gc(exists, due)
	if exists == nil then
		local r = redis.call('HMGET', REC, 'ctr', 'gct')
		exists, due = r[1] ~= false, r[2]
	end
	if due and tonumber(due) > now then return end
	local ids = redis.call('ZRANGEBYSCORE', EXP, '-inf', num(now), 'LIMIT', 0, 32)
	drop(ids)
	local cids = redis.call('ZRANGEBYSCORE', CLX, '-inf', num(now), 'LIMIT', 0, 8)
	for _, cid in ipairs(cids) do
		redis.call('HDEL', CLM, cid)
		redis.call('ZREM', CLX, cid)
	end
	local rx = redis.call('ZRANGEBYSCORE', RX, '-inf', num(now), 'LIMIT', 0, 32)
	if #rx > 0 then redis.call('ZREM', RX, unpack(rx)) end
	if exists and #ids < 32 and #cids < 8 and #rx < 32 then
		redis.call('HSET', REC, 'gct', num(now + 1000))
	end
end

-- reexpire gives the data keys a Redis expiry at or after the latest
-- expiry of any message or claim they hold, so a queue whose messages all
-- expired is reclaimed by Redis itself even if no one touches it again.
-- Writes that add or extend messages or claims call it; removals need not.
-- To spare most writes the five PEXPIREATs, keys get ten minutes of slack and
-- the record remembers the expiry set ('kexp'): a write whose latest expiry
-- is within it changes nothing. A key Redis dropped (emptied) and a write
-- re-created has no expiry at all, so data never expires early.
-- A caller that knows the latest expiry it wrote (math.huge: never) passes
-- it, and the record's kexp when it has read it already (false: unset);
-- when kexp covers it, nothing else is read.
local function reexpire(latest, kexp)
	if latest ~= nil then
		if kexp == nil then kexp = redis.call('HGET', REC, 'kexp') end
		if kexp == 'inf' or (kexp and latest ~= math.huge and latest <= tonumber(kexp)) then return end
	end
	local at = 0
	for _, k in ipairs({EXP, CLX}) do
		local last = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
		if last[2] then
			local s = tonumber(last[2])
			if s > at then at = s end
		end
	end
	if at == 0 then return end
	kexp = redis.call('HGET', REC, 'kexp')
	if kexp == 'inf' or (kexp and at ~= math.huge and at <= tonumber(kexp)) then return end
	if at ~= math.huge then at = at + 600000 end
	for _, k in ipairs({ORD, MSG, EXP, CLM, CLX}) do
		if at == math.huge then
			redis.call('PERSIST', k)
		else
			redis.call('PEXPIREAT', k, num(at))
		end
	end
	redis.call('HSET', REC, 'kexp', at == math.huge and 'inf' or num(at))
end

-- ensure creates the queue record with empty metadata when absent.
local function ensure()
	if redis.call('EXISTS', REC) == 0 then
		redis.call('HSET', REC, 'meta', '{}', 'ctr', '0')
	end
end

-- unindexed reports whether the queue still has to be entered in its
-- project's index (a key in another slot, written by the Go side).
local function unindexed()
	if redis.call('HGET', REC, 'ix') == '1' then return 0 end
	return 1
end

-- append adds messages at the tail with the next markers. Each entry is
-- {id, message}; message[MARKER] is assigned here. ctr is the record's
-- counter when the caller has read it. Returns the latest expiry added
-- (math.huge: never), for reexpire.
local function append(entries, ctr)
	if #entries == 0 then return 0 end
	if ctr == nil then ctr = tonumber(redis.call('HGET', REC, 'ctr') or '0') end
	local ms, os, es = {}, {}, {}
	local latest = 0
	for _, e in ipairs(entries) do
		ctr = ctr + 1
		local m = e[2]
		m[MARKER] = ctr
		local exp = m[EXPIRES]
		if exp == 0 then latest = math.huge elseif exp > latest then latest = exp end
		local k = #ms
		ms[k + 1] = e[1]; ms[k + 2] = cmsgpack.pack(m)
		os[k + 1] = ctr; os[k + 2] = e[1] -- Redis formats integral numbers exactly
		es[k + 1] = score(exp); es[k + 2] = e[1]
	end
	each('HSET', MSG, ms)
	each('ZADD', ORD, os)
	each('ZADD', EXP, es)
	redis.call('HSET', REC, 'ctr', ctr)
	return latest
end

-- scan calls f(id, m) for the messages after marker in queue order until f
-- returns true; expired messages are passed too (the caller decides).
local function scan(marker, batch, f)
	local from = '(' .. marker
	while true do
		local page = redis.call('ZRANGEBYSCORE', ORD, from, '+inf', 'WITHSCORES', 'LIMIT', 0, batch)
		if #page == 0 then return end
		for i = 1, #page, 2 do
			from = '(' .. page[i + 1]
			local m = getm(page[i])
			if m and f(page[i], m) then return end
		end
		if #page < 2 * batch then return end
	end
end

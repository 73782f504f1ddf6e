-- Library of the subscription scripts. A queue's subscriptions share its
-- hash tag but not its records: deleting a queue leaves them, as in Zaqar.
-- SUB maps id -> cmsgpack {subscriber, ttl ms, start ms, expiry ms (0:
-- never), confirmed (0/1), options JSON}, BY maps subscriber -> id, SX
-- scores ids by expiry for the GC.
local SUB, BY, SX = KEYS[1], KEYS[2], KEYS[3]
local SUBSCRIBER, STTL, START, SEXP, CONFIRMED, OPTIONS = 1, 2, 3, 4, 5, 6

local function gets(id)
	local p = redis.call('HGET', SUB, id)
	if not p then return nil end
	local s = cmsgpack.unpack(p)
	if s[SEXP] ~= 0 and s[SEXP] <= now then return nil end
	return s
end

local function puts(id, s)
	redis.call('HSET', SUB, id, cmsgpack.pack(s))
	redis.call('HSET', BY, s[SUBSCRIBER], id)
	redis.call('ZADD', SX, score(s[SEXP]), id)
end

local function dels(id)
	local p = redis.call('HGET', SUB, id)
	if not p then return end
	local s = cmsgpack.unpack(p)
	if redis.call('HGET', BY, s[SUBSCRIBER]) == id then redis.call('HDEL', BY, s[SUBSCRIBER]) end
	redis.call('HDEL', SUB, id)
	redis.call('ZREM', SX, id)
end

-- viewsub appends id, subscriber, ttl, start, confirmed, options to out.
local function viewsub(out, id, s)
	local n = #out
	out[n + 1] = id
	out[n + 2] = s[SUBSCRIBER]
	out[n + 3] = num(s[STTL])
	out[n + 4] = num(s[START])
	out[n + 5] = num(s[CONFIRMED])
	out[n + 6] = s[OPTIONS]
end

-- gcsubs removes up to 16 expired subscriptions and sets the keys' Redis
-- expiry to the latest subscription expiry.
local function gcsubs()
	for _, id in ipairs(redis.call('ZRANGEBYSCORE', SX, '-inf', num(now), 'LIMIT', 0, 16)) do dels(id) end
	local last = redis.call('ZRANGE', SX, -1, -1, 'WITHSCORES')
	if last[2] then
		local at = tonumber(last[2])
		for _, k in ipairs({SUB, BY, SX}) do
			if at == math.huge then redis.call('PERSIST', k) else redis.call('PEXPIREAT', k, num(at)) end
		end
	end
end

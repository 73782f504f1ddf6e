-- SubCreate: ARGV = new id, subscriber, ttl ms, confirmed (0/1), options.
-- Returns now, created (0/1) and the six fields of the subscription: the
-- existing live one for the subscriber, or the new one.
local id, subscriber, ttl, confirmed, options = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local out = {num(now)}
local old = redis.call('HGET', BY, subscriber)
if old then
	local s = gets(old)
	if s then
		out[2] = 0
		viewsub(out, old, s)
		return out
	end
	dels(old)
end
local s = {subscriber, ttl, now, after(ttl), confirmed, options}
puts(id, s)
gcsubs()
out[2] = 1
viewsub(out, id, s)
return out

-- SubUpdate: ARGV = id, set subscriber (0/1), subscriber, set ttl (0/1),
-- ttl ms, set options (0/1), options. Returns 0, 1 when not found, 2 when
-- the new subscriber is taken by another live subscription.
local id = ARGV[1]
local s = gets(id)
if not s then return 1 end
if ARGV[2] == '1' and ARGV[3] ~= s[SUBSCRIBER] then
	local other = redis.call('HGET', BY, ARGV[3])
	if other and other ~= id then
		if gets(other) then return 2 end
		dels(other)
	end
	if redis.call('HGET', BY, s[SUBSCRIBER]) == id then redis.call('HDEL', BY, s[SUBSCRIBER]) end
	s[SUBSCRIBER] = ARGV[3]
end
if ARGV[4] == '1' then
	local ttl = tonumber(ARGV[5])
	s[STTL], s[START], s[SEXP] = ttl, now, after(ttl)
end
if ARGV[6] == '1' then s[OPTIONS] = ARGV[7] end
puts(id, s)
gcsubs()
return 0

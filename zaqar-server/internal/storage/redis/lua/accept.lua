-- Accept: the second step of a dead-letter move, run on the dead-letter
-- queue. ARGV = pairs of message id and outbox entry. Appends each message
-- not received before (RX remembers ids until the message would expire, so
-- delivering an entry twice adds it once) and creates the queue when absent.
-- Returns 1 when the queue still has to be indexed, else 0.
gc()
ensure()
local entries = {}
for i = 1, #ARGV, 2 do
	local id = ARGV[i]
	local e = cmsgpack.unpack(ARGV[i + 1])
	local m = e[2]
	if e[3] then m[BODY] = e[3] end -- an entry of layout 1: {queue, state, body}
	if not redis.call('ZSCORE', RX, id) and live(m) then
		entries[#entries + 1] = {id, m}
		redis.call('ZADD', RX, score(m[EXPIRES]), id)
	end
end
reexpire(append(entries))
return unindexed()

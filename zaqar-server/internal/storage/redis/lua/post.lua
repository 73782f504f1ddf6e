-- Post: ARGV = n, then per message id, ttl ms, delay ms, client id,
-- checksum, body. Markers are assigned here, inside the one atomic step, so
-- they follow commit order: a reader paging by marker never misses a
-- message that commits later with a smaller marker.
-- Returns 1 when the queue still has to be indexed, else 0.
gc()
ensure()
local n = tonumber(ARGV[1])
if n > 0 and redis.call('HEXISTS', MSG, ARGV[2]) == 1 then
	return unindexed() -- the same post again (ids are fresh UUIDs): a retry
end
local entries = {}
for i = 0, n - 1 do
	local a = 2 + i * 6
	local ttl, delay = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
	local m = {0, now, after(ttl), ttl, after(delay), '', 0, 0, ARGV[a + 3], ARGV[a + 4]}
	entries[#entries + 1] = {ARGV[a], m, ARGV[a + 5]}
end
append(entries)
reexpire()
return unindexed()

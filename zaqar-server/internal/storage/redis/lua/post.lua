-- Post: ARGV = n, retry check (0/1), then per message id, ttl ms, delay
-- ms, client id, checksum, body. Markers are assigned here, inside the one
-- atomic step, so they follow commit order: a reader paging by marker never
-- misses a message that commits later with a smaller marker.
-- Returns 1 when the queue still has to be indexed, else 0.
--
-- The hottest script: one HMGET reads what ensure, append, reexpire,
-- unindexed and gc would each read again.
local rec = redis.call('HMGET', REC, 'ctr', 'ix', 'kexp', 'gct')
if not rec[1] then redis.call('HSET', REC, 'meta', '{}', 'ctr', '0') end
gc(true, rec[4])
local pending = 1
if rec[2] == '1' then pending = 0 end
local n = tonumber(ARGV[1])
-- Only go-redis's own retries (max_retries) can send a post twice: the
-- driver asks for the check when they are on.
if n > 0 and ARGV[2] == '1' and redis.call('HEXISTS', MSG, ARGV[3]) == 1 then
	return pending -- the same post again (ids are fresh UUIDs): a retry
end
local entries = {}
for i = 0, n - 1 do
	local a = 3 + i * 6
	local ttl, delay = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
	local m = {0, now, after(ttl), ttl, after(delay), '', 0, 0, ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]}
	entries[#entries + 1] = {ARGV[a], m}
end
reexpire(append(entries, tonumber(rec[1] or '0')), rec[3])
-- Wakes long polls on every API node (signal.go); with no node waiting on
-- the queue nobody subscribes and Redis only looks the channel up.
if n > 0 then redis.call('PUBLISH', REC .. ':wake', n) end
return pending

-- Prepended to every script. Time is the Redis server's, so every API node
-- agrees on it. Scripts call TIME and then write, which needs effects
-- replication: the default from Redis 5, switched on here for older servers.
-- Replicas and the AOF therefore receive the commands a script ran, never
-- the script itself, and replaying them gives the same state.
if redis.replicate_commands then pcall(redis.replicate_commands) end

local now
do
	local t = redis.call('TIME')
	now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) -- Unix milliseconds
end

-- num formats an integral number exactly: tostring would round to 14 digits.
local function num(n) return string.format('%d', n) end

-- after is now+d, or 0 (never) when d <= 0.
local function after(d)
	if d > 0 then return now + d end
	return 0
end

-- score is an expiry as a sorted-set score; 0 (never) sorts last.
local function score(exp)
	if exp == 0 then return '+inf' end
	return num(exp)
end

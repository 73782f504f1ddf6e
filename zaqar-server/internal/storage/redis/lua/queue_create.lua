-- QueueCreate: ARGV = metadata document. Returns {created (0/1), needs
-- indexing (0/1)}.
if redis.call('EXISTS', REC) == 1 then return {0, unindexed()} end
redis.call('HSET', REC, 'meta', ARGV[1], 'ctr', '0')
return {1, 1}

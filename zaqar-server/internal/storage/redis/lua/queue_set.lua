-- QueueSet: ARGV = metadata document. Returns 0, or 1 when the queue is missing.
if redis.call('EXISTS', REC) == 0 then return 1 end
redis.call('HSET', REC, 'meta', ARGV[1])
return 0

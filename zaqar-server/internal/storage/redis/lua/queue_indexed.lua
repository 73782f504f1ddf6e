-- QueueIndexed: marks the queue as entered in its project's index, unless
-- it was deleted meanwhile (a later creator indexes its own queue).
if redis.call('EXISTS', REC) == 1 then redis.call('HSET', REC, 'ix', '1') end
return 0

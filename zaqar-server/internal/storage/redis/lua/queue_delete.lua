-- QueueDelete: removes the queue record and every message, claim and
-- outbox entry (UNLINK frees them in the background); subscriptions stay.
-- Returns 1 when there was a queue.
if redis.call('EXISTS', REC) == 0 then return 0 end
redis.call('UNLINK', REC, ORD, MSG, EXP, CLM, CLX, OUT, RX)
return 1

-- Ack: the last step of a dead-letter move, run on the source queue once
-- the dead-letter queue holds the messages. ARGV = message ids.
if #ARGV > 0 then redis.call('HDEL', OUT, unpack(ARGV)) end
return 0

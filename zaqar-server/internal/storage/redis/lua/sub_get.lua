-- SubGet: ARGV = id. Returns now and the six fields, or only now.
local out = {num(now)}
local s = gets(ARGV[1])
if s then viewsub(out, ARGV[1], s) end
return out

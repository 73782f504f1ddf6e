-- SubConfirm: ARGV = id, confirmed (0/1). Returns 0, or 1 when not found.
local s = gets(ARGV[1])
if not s then return 1 end
s[CONFIRMED] = tonumber(ARGV[2])
puts(ARGV[1], s)
return 0

-- Get: ARGV = ids. Returns now, then nine fields per live message, in queue
-- order, each at most once.
local found, seen = {}, {}
for _, id in ipairs(ARGV) do
	if not seen[id] then
		seen[id] = true
		local m = getm(id)
		if m and live(m) then found[#found + 1] = {id, m} end
	end
end
table.sort(found, function(a, b) return a[2][MARKER] < b[2][MARKER] end)
local out = {num(now)}
for _, f in ipairs(found) do view(out, f[1], f[2]) end
return out

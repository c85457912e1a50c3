-- bench.script_cost variant: the same writes with no reads and no version checks (not safe:
-- a delayed older write would win); the floor of any versioned script.
local key = KEYS[1]
local pv = ARGV[4]
if pv ~= '' then redis.call('SET', KEYS[2], pv, 'EX', ARGV[3]) end
local n = tonumber(ARGV[5])
local out = {}
if ARGV[2] ~= '' then out[1] = 'ls'; out[2] = ARGV[2] end
for i = 1, n do
  out[#out + 1] = ARGV[4 + 2 * i]
  out[#out + 1] = ARGV[5 + 2 * i]
end
if #out > 0 then redis.call('HSET', key, unpack(out)) end
redis.call('EXPIRE', key, ARGV[1])
return #out / 2

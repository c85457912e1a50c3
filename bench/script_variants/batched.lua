-- bench.script_cost variant: write_v1.lua's body run once per user for several users in one
-- call (KEYS: key, profile key per user; ARGV: per user its argument count, then its arguments).
-- Takes a batched trace (see docs/bench.md), not the job's.
local function write_one(KEYS, ARGV)

local key = KEYS[1]
local expect, gen = ARGV[#ARGV - 1], ARGV[#ARGV]
if expect == '1' and redis.call('EXISTS', key, KEYS[2]) < 2 then
  return -1
end
local pv = ARGV[4]
if pv ~= '' then
  local old = redis.call('GET', KEYS[2])
  if (not old) or tonumber(string.match(pv, '^%d+')) > tonumber(string.match(old, '^%d+')) then
    redis.call('SET', KEYS[2], pv, 'EX', ARGV[3])
  else
    redis.call('EXPIRE', KEYS[2], ARGV[3])
  end
end
local n = tonumber(ARGV[5])
local names = {'ls'}
for i = 1, n do names[i + 1] = ARGV[4 + 2 * i] end
local cur = redis.call('HMGET', key, unpack(names))
local out = {}
if ARGV[2] ~= '' and ((not cur[1]) or tonumber(ARGV[2]) > tonumber(cur[1])) then
  out[#out + 1] = 'ls'
  out[#out + 1] = ARGV[2]
end
for i = 1, n do
  local v = ARGV[5 + 2 * i]
  local old = cur[i + 1]
  if (not old) or tonumber(string.match(v, '^%d+')) > tonumber(string.match(old, '^%d+')) then
    out[#out + 1] = names[i + 1]
    out[#out + 1] = v
  end
end
local a = 6 + 2 * n
local d = tonumber(ARGV[a])
a = a + 1
if d > 0 then
  local dels = {}
  for i = 1, d do
    dels[i] = ARGV[a]
    a = a + 1
  end
  redis.call('HDEL', key, unpack(dels))
end
local np = tonumber(ARGV[a])
a = a + 1
for i = 1, np do
  local pf, pv2 = ARGV[a], ARGV[a + 1]
  a = a + 2
  local c = redis.call('HGET', key, pf)
  if (not c) or tonumber(pv2) > tonumber(c) then
    out[#out + 1] = pf
    out[#out + 1] = pv2
  end
end
local nw = tonumber(ARGV[a])
a = a + 1
if nw > 0 then
  local meta = ARGV[a]
  a = a + 1
  local old = redis.call('HGET', key, 'm')
  local newer = true
  if old then
    local oe, ot = string.match(old, '^(%d+);(%d+)$')
    local ne, nt = string.match(meta, '^(%d+);(%d+)$')
    if oe then
      oe, ot, ne, nt = tonumber(oe), tonumber(ot), tonumber(ne), tonumber(nt)
      newer = ne > oe or (ne == oe and nt > ot)
    end
  end
  if newer then
    out[#out + 1] = 'm'
    out[#out + 1] = meta
    for i = 1, nw do
      out[#out + 1] = ARGV[a]
      out[#out + 1] = ARGV[a + 1]
      a = a + 2
    end
  end
end
if gen ~= '' then
  local g = redis.call('HGET', key, 'g')
  if (not g) or tonumber(gen) > tonumber(g) then
    out[#out + 1] = 'g'
    out[#out + 1] = gen
  end
end
if #out > 0 then redis.call('HSET', key, unpack(out)) end
redis.call('EXPIRE', key, ARGV[1])
return #out / 2
end
local res = {}
local a = 1
for u = 1, #KEYS / 2 do
  local cnt = tonumber(ARGV[a])
  local argv = {}
  for i = 1, cnt do argv[i] = ARGV[a + i] end
  a = a + cnt + 1
  res[u] = write_one({KEYS[2 * u - 1], KEYS[2 * u]}, argv)
end
return res

"""The Lua scripts that keep the cache coherent with SQL.

Each session has two keys, both under the hash tag of its lookup key (one
Cluster slot): the entry, a hash of the row's meta fields and one field per
variable (``.name``), and its state, a hash of

- ``l``, a reader's lease: a reader that missed may fill the entry only while
  its lease is still there; every write removes the lease, so a reader whose
  SQL snapshot may predate a write never fills;
- ``n``, the writers in flight (between their announcement and the end of
  their SQL commit), and ``s``, the last writer's nonce: a writer updates the
  entry field by field only if no other writer overlapped its own; else it
  removes the entry, since the order of their commits is unknown.

While ``n`` is above zero, readers skip the entry. A writer that fails after
its announcement leaves ``n`` up until the state expires, which is never
before the entry: no worker then serves what that writer could not update.
"""

from __future__ import annotations

__all__ = ["ANNOUNCE", "FILL", "FINISH", "READ"]

#: KEYS entry, state; ARGV now, born_after (or ""), lease token, lease ms.
#: The entry while live and no writer is in flight; else nil, with a lease
#: taken where a fill may follow.
READ = """
local n = tonumber(redis.call('HGET', KEYS[2], 'n') or '0')
if n > 0 then return false end
local h = redis.call('HGETALL', KEYS[1])
if #h > 0 then
  local live = true
  for i = 1, #h, 2 do
    if h[i] == 'e' and tonumber(h[i + 1]) <= tonumber(ARGV[1]) then live = false end
    if h[i] == 'c' and ARGV[2] ~= '' and tonumber(h[i + 1]) <= tonumber(ARGV[2]) then
      live = false
    end
  end
  if live then return h end
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[2], 'l', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return false
"""

#: KEYS entry, state; ARGV lease token, entry ms, then field, value pairs.
#: Writes the entry only if the lease is still this reader's.
FILL = """
if redis.call('HGET', KEYS[2], 'l') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('DEL', KEYS[1])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

#: KEYS entry, state; ARGV nonce, state ms. Before a write's SQL commit.
ANNOUNCE = """
redis.call('HINCRBY', KEYS[2], 'n', 1)
redis.call('HSET', KEYS[2], 's', ARGV[1])
redis.call('HDEL', KEYS[2], 'l')
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
"""

#: KEYS entry, state; ARGV nonce ("" if not announced), "drop" or "apply",
#: the number of fields to set, field, value pairs, then fields to delete.
#: After the commit: the entry updated field by field when this writer was
#: alone, else removed.
FINISH = """
local alone = false
if ARGV[1] ~= '' then
  local n = redis.call('HINCRBY', KEYS[2], 'n', -1)
  alone = n == 0 and redis.call('HGET', KEYS[2], 's') == ARGV[1]
  if n <= 0 then redis.call('DEL', KEYS[2]) else redis.call('HDEL', KEYS[2], 'l') end
else
  redis.call('HDEL', KEYS[2], 'l')
end
if ARGV[2] ~= 'apply' or not alone then
  redis.call('DEL', KEYS[1])
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local sets = tonumber(ARGV[3])
for i = 4, 3 + 2 * sets, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
for i = 4 + 2 * sets, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
end
return 1
"""

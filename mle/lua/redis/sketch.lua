#!lua name=mle_sketch
-- The shared sketches of the mle library (mle.shared). The engine computes an
-- item's positions with the same code its local sketches use (MurmurHash3,
-- mle/lua/lib/sketch/); these functions apply them, with the TTL, in one command.

local function expire(key, ttl)
  ttl = tonumber(ttl) or 0
  if ttl > 0 then redis.call("PEXPIRE", key, math.floor(ttl * 1000)) end
end

-- CountMin: KEYS[1] a string of signed 64-bit counters (BITFIELD); ARGV: ttl, count,
-- the item's counter in each row, then the total's counter. Reply: {estimate, total}.
redis.register_function{
  function_name = "mle_cms_add",
  callback = function(keys, args)
    local command = { "BITFIELD", keys[1] }
    for i = 3, #args do
      command[#command + 1] = "INCRBY"
      command[#command + 1] = "i64"
      command[#command + 1] = "#" .. args[i]
      command[#command + 1] = args[2]
    end
    local counts = redis.call(unpack(command))
    local estimate = counts[1]
    for i = 2, #counts - 1 do
      if counts[i] < estimate then estimate = counts[i] end
    end
    expire(keys[1], args[1])
    return { estimate, counts[#counts] }
  end,
}

-- Bloom: KEYS[1] a bitmap; ARGV: ttl, the item's bit positions. Reply: 1 if the item was new.
redis.register_function{
  function_name = "mle_bloom_add",
  callback = function(keys, args)
    local command = { "BITFIELD", keys[1] }
    for i = 2, #args do
      command[#command + 1] = "SET"
      command[#command + 1] = "u1"
      command[#command + 1] = args[i]
      command[#command + 1] = "1"
    end
    local old = redis.call(unpack(command))
    expire(keys[1], args[1])
    for i = 1, #old do
      if old[i] == 0 then return 1 end
    end
    return 0
  end,
}

-- TopK (Space-Saving): KEYS[1] a sorted set item -> count, KEYS[2] a hash item ->
-- error; ARGV: ttl, k, count, item. The least counted item (ties: the smallest in
-- byte order, the sorted set's order) gives its place to a new one. Reply:
-- {count after, error}.
redis.register_function{
  function_name = "mle_topk_add",
  callback = function(keys, args)
    local counts, errors = keys[1], keys[2]
    local k, w, item = tonumber(args[2]), tonumber(args[3]), args[4]
    local result
    if redis.call("ZSCORE", counts, item) then
      result = { tonumber(redis.call("ZINCRBY", counts, w, item)), tonumber(redis.call("HGET", errors, item)) }
    elseif redis.call("ZCARD", counts) < k then
      redis.call("ZADD", counts, w, item)
      redis.call("HSET", errors, item, 0)
      result = { w, 0 }
    else
      local least = redis.call("ZRANGE", counts, 0, 0, "WITHSCORES")
      local least_count = tonumber(least[2])
      redis.call("ZREM", counts, least[1])
      redis.call("HDEL", errors, least[1])
      redis.call("ZADD", counts, least_count + w, item)
      redis.call("HSET", errors, item, least_count)
      result = { least_count + w, least_count }
    end
    expire(counts, args[1])
    expire(errors, args[1])
    return result
  end,
}

-- HyperLogLog: KEYS[1] a Redis HyperLogLog; ARGV: ttl, items. PFADD, the TTL, and
-- the count after (PFCOUNT), in one command. Reply: the count.
redis.register_function{
  function_name = "mle_hll_add",
  callback = function(keys, args)
    local items = { "PFADD", keys[1] }
    for i = 2, #args do items[#items + 1] = args[i] end
    redis.call(unpack(items))
    expire(keys[1], args[1])
    return redis.call("PFCOUNT", keys[1])
  end,
}

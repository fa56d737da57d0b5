mle = { shard_key = "src_ip" }

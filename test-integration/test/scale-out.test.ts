/**
 * Scale-out on Redis: the three-instance suite (helpers/cluster-suite.ts) with the Redis Emitter
 * and Store (the single-slot layout, and `shards: 3`) on the shared Redis (`REDIS_URL`, default redis://127.0.0.1:6379), under a key prefix
 * unique to the run (`it:<pid>:<time>:…`) that is deleted at the end.
 */
import { threeInstanceSuite } from './helpers/cluster-suite.js';
import { deletePrefix, REDIS_URL, redisBackend, uniquePrefix } from './helpers/redis.js';

const prefixes: string[] = [];

// The single-slot layout, then three shards (option shards) of the same deployment on one Redis.
for (const [name, layout] of [['Redis', {}], ['Redis, shards: 3', { shards: 3 }]] as const) {
  threeInstanceSuite(name, {
    async deploy(count) {
      const prefix = uniquePrefix('scale');
      prefixes.push(prefix);
      return Array.from({ length: count }, () => redisBackend(REDIS_URL, prefix, layout));
    },
    async cleanUp() {
      for (const prefix of prefixes) await deletePrefix(REDIS_URL, prefix);
    },
  });
}

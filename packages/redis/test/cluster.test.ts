import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis, type ClusterNode } from 'ioredis';
import { killRedisServers, startPrivateRedisCluster, type PrivateRedis } from '@skynet-mqtt/test-support';
import { RedisEmitter, RedisStore } from '../src/index.js';
import { redisContracts } from './helpers.js';

/**
 * The contracts again, on a PRIVATE three-node Redis Cluster started for this file: in the
 * single-slot layout every key of a prefix shares one hash tag, so each script runs within one
 * slot, and publishes are routed through one node so that their order holds; with shards, each
 * shard's keys share the shard's tag.
 */
const nodes: PrivateRedis[] = [];
const cluster: ClusterNode[] = [];

before(async () => {
  const started = await startPrivateRedisCluster(3);
  nodes.push(...started.nodes);
  cluster.push(...started.cluster);
});

after(async () => {
  for (const node of nodes) await node.kill('SIGTERM');
  await killRedisServers();
});

redisContracts('redis cluster', { cluster }, 'c');
redisContracts('redis cluster shards=3', { cluster }, 's', { shards: 3 });

/** The keys under `prefix` on each master, read from the node itself (SCAN sees only its own keys). */
async function keysPerNode(prefix: string): Promise<string[][]> {
  return Promise.all(
    nodes.map(async (node) => {
      const redis = new Redis({ port: node.port, lazyConnect: true });
      await redis.connect();
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}*`, 'COUNT', 1000);
        cursor = next;
        found.push(...keys);
      } while (cursor !== '0');
      await redis.quit();
      return found;
    }),
  );
}

describe('Redis Cluster: where the keys go', () => {
  /** Sessions with subscriptions and queued messages, retained messages and published messages, for 60 clients and topics. */
  async function traffic(prefix: string, shards: number): Promise<void> {
    const store = new RedisStore({ cluster, prefix, shards });
    const emitter = new RedisEmitter({ cluster, prefix, shards });
    try {
      await emitter.subscribe('#', () => undefined);
      for (let i = 0; i < 60; i++) {
        const clientId = `client-${i}`;
        const message = { id: `m${i}`, topic: `room/${i}`, payload: Buffer.from(`payload ${i}`), qos: 1 as const, retain: true };
        await store.addSubscriptions(clientId, [{ topic: `room/${i}`, qos: 1 }]);
        await store.enqueue(clientId, message);
        await store.storeRetained(message);
        await emitter.publish(message, clientId);
      }
    } finally {
      await emitter.close();
      await store.close();
    }
  }

  test('the single-slot layout puts every key on one master', async () => {
    await traffic('one:', 1);
    const counts = (await keysPerNode('one:')).map((keys) => keys.length);
    assert.equal(counts.filter((count) => count > 0).length, 1, `keys per master: ${counts.join(', ')}`);
  });

  test('shards: 3 puts one shard on each master, each with sessions, retained messages and a stream', async () => {
    await traffic('three:', 3);
    const perNode = await keysPerNode('three:');
    const tags = perNode.map((keys) => new Set(keys.map((key) => key.slice(0, key.indexOf('}') + 1))));
    assert.deepEqual(
      tags.map((set) => set.size),
      [1, 1, 1],
      `each master holds one shard: ${tags.map((set) => [...set].join(' ')).join(' | ')}`,
    );
    for (const keys of perNode) {
      const sessions = keys.filter((key) => key.includes('}session:')).length;
      // 60 client ids over 3 shards: each gets a fair part of them.
      assert.ok(sessions >= 10, `sessions on one master: ${sessions} (${perNode.map((k) => k.length).join(', ')} keys per master)`);
      for (const kind of ['}retained', '}stream', '}stream:n', '}subs:nodes']) {
        assert.ok(
          keys.some((key) => key.endsWith(kind)),
          `a master lacks ${kind.slice(1)}`,
        );
      }
    }
  });
});

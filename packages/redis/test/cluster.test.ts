import { after, before } from 'node:test';
import type { ClusterNode } from 'ioredis';
import { killRedisServers, startPrivateRedisCluster, type PrivateRedis } from '@skynet-mqtt/test-support';
import { redisContracts } from './helpers.js';

/**
 * The contracts again, on a PRIVATE three-node Redis Cluster started for this file: every key
 * of a prefix shares one hash tag, so each script runs within one slot, and publishes are routed
 * through one node so that their order holds.
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

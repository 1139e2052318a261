import { after, before } from 'node:test';
import type { ClusterNode } from 'ioredis';
import { freePort, killRedisServers, startPrivateRedis, type PrivateRedis } from '@skynet-mqtt/test-support';
import { redisContracts } from './helpers.js';
import { createCluster } from './redis-cluster.js';

/**
 * The contracts again, on a PRIVATE three-node Redis Cluster started for this file: every key
 * of a prefix shares one hash tag, so each script runs within one slot, and publishes are routed
 * through one node so that their order holds.
 */
const nodes: PrivateRedis[] = [];
const cluster: ClusterNode[] = [];

before(async () => {
  const ports = [await freePort(), await freePort(), await freePort()];
  for (const port of ports) {
    // Each node in its own temp dir (removed by killRedisServers).
    nodes.push(await startPrivateRedis({ port, args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--appendonly', 'no'] }));
    cluster.push({ host: '127.0.0.1', port });
  }
  await createCluster(ports);
});

after(async () => {
  for (const node of nodes) await node.kill('SIGTERM');
  await killRedisServers();
});

redisContracts('redis cluster', { cluster }, 'c');

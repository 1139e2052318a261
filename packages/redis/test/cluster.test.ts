import { after, before } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterNode } from 'ioredis';
import type { Emitter } from '@skynet-mqtt/core';
import { emitterContract, storeContract } from '@skynet-mqtt/contract-tests';
import { RedisEmitter, RedisStore } from '../src/index.js';
import { createCluster, freePort, startRedis, stop } from './private-redis.js';

/**
 * The contracts again, on a PRIVATE three-node Redis Cluster started for this file: every key
 * of a prefix shares one hash tag, so each script runs within one slot, and publishes are routed
 * through one node so that their order holds.
 */
const nodes: ChildProcess[] = [];
let dir = '';
const cluster: ClusterNode[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skynet-redis-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  for (const port of ports) {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir);
    nodes.push(await startRedis(port, nodeDir, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--appendonly', 'no']));
    cluster.push({ host: '127.0.0.1', port });
  }
  await createCluster(ports);
});

after(async () => {
  for (const node of nodes) await stop(node, 'SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

let count = 0;
let latest = '';
function freshPrefix(): string {
  latest = `c${++count}:`;
  return latest;
}

storeContract('redis cluster', async () => new RedisStore({ cluster, prefix: freshPrefix() }), {
  reopen: async () => new RedisStore({ cluster, prefix: latest }),
  ttlStore: async (ttl) => new RedisStore({ cluster, prefix: freshPrefix(), ttl }),
  maxQueuedStore: async (max) => new RedisStore({ cluster, prefix: freshPrefix(), maxQueuedMessages: max }),
});

let open = 0;
let emitterPrefix = '';
emitterContract('redis cluster', async (): Promise<Emitter> => {
  if (open === 0) emitterPrefix = freshPrefix();
  open++;
  const emitter = new RedisEmitter({ cluster, prefix: emitterPrefix });
  let closed = false;
  return {
    publish: (m) => emitter.publish(m),
    subscribe: (f, h) => emitter.subscribe(f, h),
    unsubscribe: (f, h) => emitter.unsubscribe(f, h),
    close: async () => {
      if (!closed) open--;
      closed = true;
      await emitter.close();
    },
  };
});

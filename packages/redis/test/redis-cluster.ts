import { spawnSync } from 'node:child_process';

/** Joins PRIVATE redis-servers (see startPrivateRedis in @skynet-mqtt/test-support) into a cluster, for cluster.test.ts. */
export const REDIS_CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli';

/** Joins nodes into a cluster (all slots, no replicas) and waits until it reports ok. */
export async function createCluster(ports: number[]): Promise<void> {
  const result = spawnSync(REDIS_CLI, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`redis-cli --cluster create failed: ${result.stderr || result.stdout}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = ports.every((p) => spawnSync(REDIS_CLI, ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok'));
    if (ok) return;
    if (Date.now() > deadline) throw new Error('cluster did not reach cluster_state:ok');
    await new Promise((r) => setTimeout(r, 100));
  }
}

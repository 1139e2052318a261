/**
 * PRIVATE redis-server processes, for tests that kill, restart or cluster them (never the shared
 * Redis). Each runs on 127.0.0.1 without RDB snapshots, is tracked like every child of
 * `spawnTracked`, and `killRedisServers()` leaves none running and removes the temp dirs made
 * for them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptsConnections as accepts, freePort } from './free-port.js';
import { spawnTracked, type TrackedProcess } from './processes.js';

/** The redis-server binary: `REDIS_SERVER`, default /usr/bin/redis-server. */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
/** The redis-cli binary, which joins nodes into a cluster: `REDIS_CLI`, default /usr/bin/redis-cli. */
export const REDIS_CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli';

export interface PrivateRedisOptions {
  /** Default: a free port. */
  port?: number;
  /** Its working directory (AOF files, cluster config). Default: a new temp dir, removed by `killRedisServers()`. */
  dir?: string;
  /** More redis-server arguments, e.g. `['--appendonly', 'yes']`. */
  args?: string[];
  /** How long to wait until it accepts connections; default 10 s. */
  timeoutMs?: number;
}

export interface PrivateRedis {
  process: TrackedProcess;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Sends `signal` (default SIGKILL) to this server's PID and waits until the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new redis-server on the same port, directory and arguments (SIGKILLing this one first if it still runs). */
  restart(): Promise<PrivateRedis>;
}

const servers = new Set<TrackedProcess>();
const madeDirs: string[] = [];

/** Starts a private redis-server and resolves once it accepts connections. */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = options.port ?? (await freePort());
  let dir = options.dir;
  if (dir === undefined) {
    dir = await mkdtemp(join(tmpdir(), 'skynet-redis-'));
    madeDirs.push(dir);
  }
  const args = options.args ?? [];
  const timeoutMs = options.timeoutMs ?? 10_000;
  const proc = spawnTracked(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...args], { capture: false });
  servers.add(proc);
  void proc.exited.then(() => servers.delete(proc));
  const failed: { error?: Error } = {};
  proc.child.once('error', (error) => (failed.error = error));
  const deadline = Date.now() + timeoutMs;
  while (!(await accepts(port))) {
    if (failed.error) throw new Error(`cannot run ${REDIS_SERVER} (set REDIS_SERVER): ${failed.error.message}`);
    if (proc.child.exitCode !== null) throw new Error(`redis-server exited with ${proc.child.exitCode} (port ${port} in use?)`);
    if (Date.now() > deadline) {
      await proc.kill('SIGKILL');
      throw new Error(`redis-server did not accept connections within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const server: PrivateRedis = {
    process: proc,
    pid: proc.pid!,
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      await proc.kill(signal);
    },
    async restart() {
      await proc.kill('SIGKILL');
      return startPrivateRedis({ ...options, port, dir: server.dir });
    },
  };
  return server;
}

/** SIGKILLs every private redis-server still running and removes the temp dirs made for them; for `after` hooks. */
export async function killRedisServers(): Promise<void> {
  await Promise.all([...servers].map((server) => server.kill('SIGKILL')));
  for (const dir of madeDirs.splice(0)) await rm(dir, { recursive: true, force: true });
}

export interface PrivateRedisCluster {
  nodes: PrivateRedis[];
  /** The start-up nodes, as the Redis adapter's `cluster` option takes them. */
  cluster: { host: string; port: number }[];
}

/**
 * Starts `count` private redis-servers (each in its own temp dir) and joins them into a cluster
 * (all slots, no replicas) with `redis-cli --cluster create`; resolves once every node reports
 * cluster_state:ok. `killRedisServers()` stops them.
 */
export async function startPrivateRedisCluster(count = 3, args: string[] = ['--appendonly', 'no']): Promise<PrivateRedisCluster> {
  const nodes: PrivateRedis[] = [];
  for (let i = 0; i < count; i++) nodes.push(await startPrivateRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', ...args] }));
  const ports = nodes.map((node) => node.port);
  const created = spawnSync(REDIS_CLI, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed (set REDIS_CLI): ${created.stderr || created.stdout || created.error?.message}`);
  const deadline = Date.now() + 10_000;
  while (!ports.every((p) => spawnSync(REDIS_CLI, ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok'))) {
    if (Date.now() > deadline) throw new Error('the cluster did not reach cluster_state:ok within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { nodes, cluster: ports.map((port) => ({ host: '127.0.0.1', port })) };
}

/**
 * Redis helpers for the scale-out tests: a unique key prefix per run (so that the shared Redis is
 * only ever touched under it), clean-up of that prefix, broker config files on a Redis backend
 * and Store, and PRIVATE redis-server processes for the fault test (ideas from
 * packages/redis/test/private-redis.ts, which is not importable from here: it is a test file of
 * another package). Every private server is tracked so that `killRedisServers()`, called from
 * `after`, leaves none running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** The shared Redis, as the other suites use it. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

let prefixes = 0;

/** A key prefix nobody else uses: `it:<pid>:<time>:<tag>:<n>:`. Everything under `it:<pid>:` is this process's. */
export function uniquePrefix(tag = 'scale'): string {
  return `it:${process.pid}:${Date.now()}:${tag}:${prefixes++}:`;
}

/** Escapes Redis glob characters, so that a prefix matches only itself in SCAN MATCH. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Deletes every key that starts with `prefix` (SCAN MATCH + DEL), and returns how many there were. */
export async function deletePrefix(url: string, prefix: string): Promise<number> {
  if (prefix.length < 4) throw new Error(`refusing to delete keys under the short prefix ${JSON.stringify(prefix)}`);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/** A short-lived ioredis connection for white-box checks (`fn` runs, then the connection closes). */
export async function withRedis<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

export interface RedisBrokerConfig {
  port: number;
  id: string;
  url: string;
  prefix: string;
  /** Merged into the config at the top level. */
  extra?: Record<string, unknown>;
}

/** Writes `<dir>/<id>.json`: a broker on 127.0.0.1 with the Redis Emitter and Store under `prefix`. */
export async function writeRedisConfig(dir: string, config: RedisBrokerConfig): Promise<string> {
  const path = join(dir, `${config.id}.json`);
  const options = {
    port: config.port,
    host: '127.0.0.1',
    id: config.id,
    stats: false,
    backend: { type: 'redis', url: config.url, prefix: config.prefix },
    persistence: { factory: 'redis', url: config.url, prefix: config.prefix },
    ...config.extra,
  };
  await writeFile(path, JSON.stringify(options, null, 2));
  return path;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

export interface PrivateRedis {
  child: ChildProcess;
  readonly pid: number;
  port: number;
  url: string;
  /** Sends `signal` to this server's PID and waits until the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const servers = new Set<ChildProcess>();

/**
 * Starts a private redis-server on 127.0.0.1:`port` with its data in `dir` (no RDB snapshots),
 * plus `extra` arguments, and waits until it accepts connections.
 */
export async function startPrivateRedis(port: number, dir: string, extra: string[] = []): Promise<PrivateRedis> {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...extra], {
    stdio: 'ignore',
  });
  servers.add(child);
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      servers.delete(child);
      resolve();
    }),
  );
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    const error = await Promise.race([spawnError, new Promise<null>((r) => setTimeout(() => r(null), 50))]);
    if (error) throw new Error(`cannot run ${REDIS_SERVER} (set REDIS_SERVER): ${error.message}`);
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (port ${port} in use?)`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('redis-server did not accept connections within 10 s');
    }
  }
  return {
    child,
    pid: child.pid!,
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
      await gone;
    },
  };
}

/** SIGKILLs every private redis-server still running; for `after` hooks. */
export async function killRedisServers(): Promise<void> {
  const children = [...servers];
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined)));
}

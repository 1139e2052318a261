/**
 * Mosca's configuration shapes, as its README, examples, wiki and tests write them, given to the
 * real `skynet-mqtt -c <file>` (issue 9). Each one starts a broker, or the command exits 1 with
 * one line that names the key and says what to write instead; a key that is accepted and has no
 * effect is said (info with -v), and an unknown one is warned about. Redis shapes use the shared
 * Redis under a prefix of their own.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { killAll, MQTT_BRIDGE_URL, spawnCli, TempDirs, type CliProcess } from '@skynet-mqtt/test-support';
import { deletePrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js';

const dirs = new TempDirs('skynet-mosca-config-');
const prefixes: string[] = [];

after(async () => {
  await killAll();
  await dirs.removeAll();
  for (const prefix of prefixes) await deletePrefix(REDIS_URL, prefix);
});

const redis = new URL(REDIS_URL);
const redisHost = redis.hostname;
const redisPort = Number(redis.port || 6379);
const parent = new URL(MQTT_BRIDGE_URL);

function prefix(): string {
  const p = uniquePrefix('mosca-config');
  prefixes.push(p);
  return p;
}

interface Shape {
  name: string;
  /** The config file: an object (written as JSON) or the source of an ES module (for functions). */
  config: (dir: string) => Record<string, unknown> | string;
  /** 'starts', or what the one line printed on exit 1 must say. */
  expect: 'starts' | RegExp;
  /** Must appear on stdout (pino JSON; -v is given) or stderr. */
  stdout?: RegExp[];
  stderr?: RegExp[];
}

const shapes: Shape[] = [
  { name: "README: a port and Mosca's defaults", config: () => ({ port: 0, host: '127.0.0.1' }), expect: 'starts' },
  {
    name: 'wiki: the Redis backend with the client module, return_buffers, host, port and db',
    config: () => `export default {
      port: 0, host: '127.0.0.1',
      backend: { type: 'redis', redis: function createClient() {}, return_buffers: true, host: ${JSON.stringify(redisHost)}, port: ${redisPort}, db: 0, prefix: ${JSON.stringify(prefix())} },
    };`,
    expect: 'starts',
    stdout: [/option backend\.redis is ignored: the Redis client module/, /option backend\.return_buffers is ignored: payloads are always Buffers/],
  },
  {
    name: 'examples/redis: backend { type: "redis" } and Redis persistence',
    config: () => {
      const p = prefix();
      return { port: 0, host: '127.0.0.1', backend: { type: 'redis', host: redisHost, port: redisPort, prefix: p }, persistence: { factory: 'redis', host: redisHost, port: redisPort, prefix: p } };
    },
    expect: 'starts',
  },
  {
    name: "examples/redis/secondConfig: backend { type: 'redis', prefix: '/a' } (Mosca's topic prefix)",
    config: () => ({ port: 0, host: '127.0.0.1', backend: { type: 'redis', host: redisHost, port: redisPort, prefix: '/a' } }),
    expect: /option backend\.prefix "\/a" is Mosca's topic prefix, which only backend type 'mqtt' has: 'redis' does not rewrite topics .* give a key name without "\/"/,
  },
  {
    name: "examples/mosca-tree/secondConfig: backend { type: 'mqtt', port, prefix: '/s' } (a parent broker)",
    config: () => ({ port: 0, host: '127.0.0.1', backend: { type: 'mqtt', host: parent.hostname, port: Number(parent.port || 1883), prefix: `/s-${process.pid}` } }),
    expect: 'starts',
  },
  {
    name: "examples: Redis persistence with url: 'host:port' (no scheme) and ttl",
    config: () => ({ port: 0, host: '127.0.0.1', persistence: { factory: 'redis', url: `${redisHost}:${redisPort}`, ttl: { subscriptions: 600_000, packets: 600_000 }, prefix: prefix() } }),
    expect: 'starts',
  },
  {
    name: "README: Redis persistence with redisOpts (Mosca's spelling)",
    config: () => ({ port: 0, host: '127.0.0.1', persistence: { factory: 'redis', redisOpts: { host: redisHost, port: redisPort }, prefix: prefix() } }),
    expect: 'starts',
  },
  {
    name: 'LevelUp persistence with a leveldown db and valueEncoding',
    config: (dir) => `export default {
      port: 0, host: '127.0.0.1',
      persistence: { factory: 'levelup', path: ${JSON.stringify(join(dir, 'db'))}, db: function leveldown() {}, valueEncoding: 'json' },
    };`,
    expect: 'starts',
    stdout: [/option persistence\.db is ignored: the LevelDB binding/, /option persistence\.valueEncoding is ignored/],
  },
  {
    name: 'memory persistence with a misspelt ttl key',
    config: () => ({ port: 0, host: '127.0.0.1', persistence: { factory: 'memory', ttl: { packet: 1000 } } }),
    expect: 'starts',
    stderr: [/unknown options ignored: persistence\.ttl\.packet \(did you mean persistence\.ttl\.packets\?\)/],
  },
  {
    name: 'LevelUp options given to the memory store',
    config: (dir) => ({ port: 0, host: '127.0.0.1', persistence: { path: join(dir, 'db') } }),
    expect: 'starts',
    stderr: [/persistence\.path \(the memory store keeps nothing on disk: set persistence\.factory: 'level'/],
  },
  {
    name: 'Redis options given to a backend without a type',
    config: () => ({ port: 0, host: '127.0.0.1', backend: { host: 'localhost', json: false } }),
    expect: 'starts',
    stderr: [/backend\.host \(backend has no type, so it is the in-process one: set backend\.type/],
  },
  {
    name: 'a persistence factory that does not return a Store',
    config: () => 'export default { port: 0, host: "127.0.0.1", persistence: { factory: function MoscaRedisPersistence() { return { wire() {} }; } } };',
    expect: /option persistence\.factory gave an object with keys wire, not a Store/,
  },
  { name: 'http.static and http.bundle (Mosca served files and mqtt.js)', config: (dir) => ({ port: 0, host: '127.0.0.1', http: { port: 0, static: dir, bundle: true } }), expect: 'starts' },
  { name: 'http.static naming a folder that does not exist', config: (dir) => ({ port: 0, http: { port: 0, static: join(dir, 'missing') } }), expect: /static/ },
  {
    name: 'examples/Server_With_All_Interfaces: mqtt and an http interface with bundle',
    config: () => ({ host: '127.0.0.1', interfaces: [{ type: 'mqtt', port: 0 }, { type: 'http', port: 0, bundle: true }], stats: false, onQoS2publish: 'noack', logger: { name: 'MoscaServer', level: 'debug' } }),
    expect: 'starts',
  },
  {
    name: 'a custom interface factory and a per-interface maxConnections',
    config: () => `import net from 'node:net';
      export default {
        host: '127.0.0.1',
        interfaces: [
          { type: (iface, fallback, server) => net.createServer((socket) => server.accept(socket)), port: 0 },
          { type: 'mqtt', port: 0, maxConnections: 10 },
        ],
      };`,
    expect: 'starts',
    stderr: [/listening on custom:\/\/127\.0\.0\.1:\d+, mqtt:\/\/127\.0\.0\.1:\d+/],
  },
  { name: "onQoS2publish: 'noack'", config: () => ({ port: 0, host: '127.0.0.1', onQoS2publish: 'noack', logger: { name: 'MoscaServer' } }), expect: 'starts' },
  { name: 'an ascoltatore instance', config: () => ({ port: 0, ascoltatore: {} }), expect: /option ascoltatore is not supported .*: give backend: \{ type: \.\.\. \} or an Emitter as backend/ },
  { name: 'an unknown backend type', config: () => ({ port: 0, backend: { type: 'kafka' } }), expect: /backend\.type 'kafka' is unknown: use memory or one of/ },
];

/** Waits until the process exits (resolving with its code) or prints its banner (resolving 'running'). */
function outcome(cli: CliProcess): Promise<number | 'running'> {
  return Promise.race([cli.banner(20_000).then(() => 'running' as const), cli.exited.then((exit) => exit.code ?? -1)]);
}

describe("Mosca's configuration shapes through skynet-mqtt -c", { timeout: 180_000 }, () => {
  it('each shape starts a broker or exits 1 with one line naming the key', { timeout: 170_000 }, async () => {
    const failures: string[] = [];
    // A few at a time: each is a process of its own.
    for (let i = 0; i < shapes.length; i += 4) {
      await Promise.all(
        shapes.slice(i, i + 4).map(async (shape) => {
          const dir = await dirs.make();
          const config = shape.config(dir);
          const file = join(dir, typeof config === 'string' ? 'mosca.mjs' : 'mosca.json');
          await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
          const cli = spawnCli(['-c', file, '-v']);
          const result = await outcome(cli);
          if (result === 'running') {
            await cli.kill('SIGTERM');
          }
          const problems: string[] = [];
          if (shape.expect === 'starts') {
            if (result !== 'running') problems.push(`did not start (exit ${result}): ${cli.stderr.trim()}`);
          } else {
            const lines = cli.stderr.trim().split('\n');
            if (result !== 1) problems.push(`expected exit 1, got ${result}`);
            if (lines.length !== 1 || !/^skynet-mqtt: /.test(lines[0]!) || !shape.expect.test(lines[0]!)) problems.push(`expected one line matching ${shape.expect}, got ${JSON.stringify(cli.stderr)}`);
          }
          for (const pattern of shape.stdout ?? []) if (!pattern.test(cli.stdout)) problems.push(`stdout lacks ${pattern}`);
          for (const pattern of shape.stderr ?? []) if (!pattern.test(cli.stderr)) problems.push(`stderr lacks ${pattern}: ${JSON.stringify(cli.stderr)}`);
          if (problems.length > 0) failures.push(`${shape.name}: ${problems.join('; ')}`);
        }),
      );
    }
    assert.deepEqual(failures, []);
  });
});

/** How the `persistence` and `backend` options become a Store and an Emitter. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ConfigurationError, MemoryEmitter, MemoryStore, Server, type ServerOptions } from '../src/index.js';

const start = (options: ServerOptions) => Server.start({ logger: false, port: 0, host: '127.0.0.1', ...options });

async function startFails(options: ServerOptions, message: RegExp): Promise<void> {
  await assert.rejects(start(options), (error: unknown) => error instanceof ConfigurationError && message.test(error.message));
}

test('memory by default, by name (Mosca\'s "trie" too), by instance and by factory function', async () => {
  const store = new MemoryStore();
  const emitter = new MemoryEmitter();
  const seen: Record<string, unknown>[] = [];
  const cases: ServerOptions[] = [
    {},
    { persistence: { factory: 'Memory' }, backend: { type: 'trie', json: false, wildcardOne: '+', wildcardSome: '#' } },
    { persistence: store, backend: emitter },
    {
      persistence: { factory: (options) => (seen.push(options), new MemoryStore()), ttl: { packets: 5 }, storeMessagesQos0: true },
      backend: { type: () => new MemoryEmitter() },
    },
  ];
  for (const options of cases) {
    const server = await start(options);
    await server.close();
  }
  // The factory gets the option without its name, and without the broker's own storeMessagesQos0.
  assert.deepEqual(seen, [{ ttl: { packets: 5 } }]);
});

test('an unknown name, an adapter that is not installed, or a wrong type stops start-up with what to do', async () => {
  await startFails({ persistence: { factory: 'postgres' } }, /persistence\.factory 'postgres' is unknown: use memory or one of redis, level/);
  await startFails({ backend: { type: 42 as unknown as string } }, /backend\.type must be a name such as "redis" or a function/);
  await startFails({ persistence: 'redis' as unknown as ServerOptions['persistence'] }, /option persistence must be an object/);
  // level provides a Store only.
  await startFails({ backend: { type: 'level' } }, /provides no Emitter: pick it as persistence\.factory instead/);
});

test("Mosca's topic prefix (backend.prefix '/a') is refused on backends whose prefix names keys, kept on the MQTT bridge", async () => {
  for (const type of ['redis', 'mongo', 'amqp', 'zmq']) {
    await startFails({ backend: { type, prefix: '/a' } }, new RegExp(`backend\\.prefix "/a" is Mosca's topic prefix, which only backend type 'mqtt' has: '${type}' does not rewrite topics`));
  }
  // The bridge's prefix is a topic prefix, as Mosca's: it gets past this check to the bridge's own.
  await startFails({ backend: { type: 'mqtt', prefix: '/a', port: 0 } }, /^MQTT bridge: option port must be/);
});

test('an adapter package that is not installed stops start-up with the npm install line', () => {
  // Every adapter is installed in this workspace: a child process whose resolver does not find
  // @skynet-mqtt/zeromq stands for a machine without it.
  const hide = `export async function resolve(specifier, context, next) {
    if (specifier !== '@skynet-mqtt/zeromq') return next(specifier, context);
    const error = new Error("Cannot find package '@skynet-mqtt/zeromq' imported from core");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }`;
  const script = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hide)}));
    const { Server } = await import(${JSON.stringify(new URL('../src/index.js', import.meta.url).href)});
    const server = new Server({ port: 0, host: '127.0.0.1', backend: { type: 'zmq' } });
    server.ready().then(() => console.log('started'), (error) => console.log(error.name + ': ' + error.message));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.match(child.stdout, /ConfigurationError: .*needs the package @skynet-mqtt\/zeromq: run npm install @skynet-mqtt\/zeromq/, child.stderr);
});

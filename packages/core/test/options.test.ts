/**
 * Server options: unknown names are reported, invalid values refused with a ConfigurationError
 * naming the option, a port in use rejects ready(), and the callback forms of Mosca's API.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { ConfigurationError, Server, unknownOptionNames, type ServerOptions } from '../src/index.js';
import { capturingLogger } from './helpers.js';

const LOCAL = { port: 0, host: '127.0.0.1' } as const;

/** Runs `body` with a port on 127.0.0.1 that another server holds. */
async function withBusyPort(body: (port: number) => Promise<void>): Promise<void> {
  const blocker = net.createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  try {
    await body((blocker.address() as net.AddressInfo).port);
  } finally {
    blocker.close();
  }
}

describe('unknown options', () => {
  test('are reported as a warning naming each of them', async () => {
    const logger = capturingLogger();
    const options = { ...LOCAL, logger: { childOf: logger }, maxInflightMesages: 10, colour: 'blue' } as ServerOptions;
    const server = await Server.start(options);
    await server.close();
    const text = JSON.stringify(logger.warnings);
    assert.match(text, /maxInflightMesages/);
    assert.match(text, /colour/);
  });

  test('known options produce no such warning', async () => {
    const logger = capturingLogger();
    const server = await Server.start({ ...LOCAL, logger: { childOf: logger }, maxInflightMessages: 10 });
    await server.close();
    assert.doesNotMatch(JSON.stringify(logger.warnings), /unknown/);
  });
});

describe('unknown options inside the listener, memory Store and memory Emitter shapes', () => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['a typo at the top level', { maxInflightMesages: 1 }, ['maxInflightMesages (did you mean maxInflightMessages?)']],
    ['a typo in the memory store ttl', { persistence: { ttl: { packet: 1 } } }, ['persistence.ttl.packet (did you mean persistence.ttl.packets?)']],
    ['a typo in the memory store', { persistence: { factory: 'memory', maxQueuedMessage: 1 } }, ['persistence.maxQueuedMessage (did you mean persistence.maxQueuedMessages?)']],
    ['LevelUp options on the memory store', { persistence: { path: '/x', valueEncoding: 'json' } }, ["persistence.path (the memory store keeps nothing on disk: set persistence.factory: 'level' to keep it in LevelDB at path)", "persistence.valueEncoding (set persistence.factory: 'level' to use LevelDB)"]],
    ['Redis options on a backend without a type', { backend: { url: 'redis://x' } }, ["backend.url (backend has no type, so it is the in-process one: set backend.type (e.g. 'redis') to use it)"]],
    ['an unknown key of the memory backend', { backend: { type: 'trie', wildcardsome: '#' } }, ['backend.wildcardsome (did you mean backend.wildcardSome?)']],
    ['keys of http and of an interface', { http: { port: 1, prot: 2 }, interfaces: [{ type: 'mqtt', hots: 'x' }] }, ['http.prot', 'interfaces[0].hots']],
  ];
  for (const [name, options, expected] of cases) {
    test(name, () => assert.deepEqual(unknownOptionNames(options), expected));
  }

  test("an adapter's options are the adapter's to check: nothing reported here", () => {
    assert.deepEqual(unknownOptionNames({ persistence: { factory: 'redis', anything: 1 }, backend: { type: 'redis', redisOpts: {} } }), []);
  });
});

describe('invalid values', () => {
  const invalid: [string, Record<string, unknown>][] = [
    ['port', { port: 'abc' }],
    ['port', { port: 70000 }],
    ['maxInflightMessages', { maxInflightMessages: 0 }],
    ['maxQueuedMessages', { maxQueuedMessages: -1 }],
    ['maxPacketSize', { maxPacketSize: 1.5 }],
    ['maxInflightBytes', { maxInflightBytes: 0 }],
    ['maxQueuedBytes', { maxQueuedBytes: '16MB' }],
    ['maxTotalQueuedBytes', { maxTotalQueuedBytes: -5 }],
    ['publisherPauseTimeout', { publisherPauseTimeout: 0.5 }],
    ['drainTimeout', { drainTimeout: null }],
    ['maxTopicLevels', { maxTopicLevels: 0 }],
    ['connectTimeout', { connectTimeout: '30s' }],
    ['incompletePacketTimeout', { incompletePacketTimeout: 0 }],
    ['maxIncompletePacketBytes', { maxIncompletePacketBytes: 'lots' }],
    // The budget must hold at least one packet of the largest size.
    ['maxIncompletePacketBytes', { maxPacketSize: 1_000_000, maxIncompletePacketBytes: 999_999 }],
    ['stats', { stats: 'yes' }],
    ['publishNewClient', { publishNewClient: 1 }],
    ['id', { id: 'a/b' }],
  ];
  for (const [name, options] of invalid) {
    test(`${JSON.stringify(options)} throws a ConfigurationError naming ${name}`, () => {
      assert.throws(
        () => new Server({ logger: false, ...options } as ServerOptions),
        (error: unknown) => error instanceof ConfigurationError && error.message.includes(name),
      );
    });
  }
});

describe('listening', () => {
  test('a port already in use rejects ready() saying so', async () => {
    await withBusyPort(async (port) => {
      const server = new Server({ port, host: '127.0.0.1', logger: false });
      await assert.rejects(server.ready(), /already in use/);
      await server.close();
    });
  });

  test('a port in use is passed to the constructor callback', async () => {
    await withBusyPort(async (port) => {
      let server: Server | undefined;
      const error = await new Promise<Error | null>((resolve) => (server = new Server({ port, host: '127.0.0.1', logger: false }, resolve)));
      assert.match(String(error), /already in use/);
      await server!.close();
    });
  });
});

describe('callback forms and close()', () => {
  test('new Server(options, callback) calls back with (null, server) once ready', async () => {
    let server: Server | undefined;
    const args = await new Promise<unknown[]>((resolve) => {
      server = new Server({ ...LOCAL, logger: false }, (...a: unknown[]) => resolve(a));
    });
    assert.equal(args.length, 2);
    assert.equal(args[0], null);
    assert.equal(args[1], server);
    assert.ok(server!.address()[0]!.port > 0);
    await server!.close();
  });

  test('close() is idempotent and its callback form works', async () => {
    const server = await Server.start({ ...LOCAL, logger: false });
    let closedEvents = 0;
    server.on('closed', () => closedEvents++);
    const first = server.close();
    const second = server.close();
    const viaCallback = await new Promise<unknown[]>((resolve) => server.close((...a: unknown[]) => resolve(a)));
    await Promise.all([first, second]);
    assert.equal(viaCallback[0], undefined, 'no error');
    await server.close();
    assert.equal(closedEvents, 1);
    assert.equal(server.closed, true);
  });

  test('after close() the port is free again', async () => {
    const server = await Server.start({ ...LOCAL, logger: false });
    const port = server.address()[0]!.port;
    await server.close();
    const again = await Server.start({ port, host: '127.0.0.1', logger: false });
    await again.close();
  });
});

// In-process checks of how flags become ServerOptions (no child process needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { finalOptions, parseCommandLine, type StartFlags } from '../src/index.js';

function flags(argv: string[]): StartFlags {
  const command = parseCommandLine(argv);
  assert.equal(command.kind, 'start');
  return (command as { flags: StartFlags }).flags;
}

test('Mosca CLI defaults: stats on, memory persistence, logger at the core default (warn)', () => {
  assert.deepEqual(finalOptions(flags([]), undefined), { stats: true, persistence: { factory: 'memory' }, logger: {} });
});

test('flags map to Mosca option names', () => {
  const options = finalOptions(
    flags(['-p', '1884', '--host', '::1', '--broker-id', 'b1', '--disable-stats', '--key', 'k', '--cert', 'c', '--secure-port', '8884', '--non-secure', '--http-port', '3000', '--https-port', '3001']),
    undefined,
  );
  assert.deepEqual(options, {
    port: 1884,
    host: '::1',
    id: 'b1',
    stats: false,
    secure: { keyPath: 'k', certPath: 'c', port: 8884 },
    allowNonSecure: true,
    http: { port: 3000 },
    https: { port: 3001 },
    persistence: { factory: 'memory' },
    logger: {},
  });
});

test("--parent-* build Mosca's MQTT bridge backend: port 1883 when only the host is given", () => {
  assert.deepEqual(finalOptions(flags(['--parent-host', 'up', '--parent-prefix', 'edge/1']), undefined).backend, { type: 'mqtt', host: 'up', port: 1883, prefix: 'edge/1' });
  assert.deepEqual(finalOptions(flags(['--parent-port', '1885']), undefined).backend, { type: 'mqtt', host: 'localhost', port: 1885 });
  assert.equal(finalOptions(flags(['--parent-host', 'up']), { port: 1 }).backend, undefined, 'a config file replaces the flags, as in Mosca');
});

test('--only-http alone serves WebSocket on the default port', () => {
  const options = finalOptions(flags(['--only-http']), undefined);
  assert.deepEqual([options.onlyHttp, options.http], [true, {}]);
});

test("-c FILE --db PATH keeps the config file's persistence ttl, maxQueuedMessages and storeMessagesQos0, and nothing Redis-specific", () => {
  const config = { persistence: { factory: 'redis', host: 'r', ttl: { subscriptions: 60_000, packets: 5_000 }, maxQueuedMessages: 50, storeMessagesQos0: true } };
  const options = finalOptions(flags(['-c', 'x.json', '--db', '/tmp/db']), config);
  assert.deepEqual(options.persistence, { factory: 'level', path: '/tmp/db', ttl: { subscriptions: 60_000, packets: 5_000 }, maxQueuedMessages: 50, storeMessagesQos0: true });
});

test("-v and --very-verbose together log at info, as Mosca's did (-v wins)", () => {
  assert.deepEqual(finalOptions(flags(['-v', '--very-verbose']), undefined).logger, { level: 'info' });
  assert.deepEqual(finalOptions(flags(['--very-verbose', '-v']), undefined).logger, { level: 'info' });
  assert.deepEqual(finalOptions(flags(['--very-verbose']), undefined).logger, { level: 'debug' });
});

test('-v, --very-verbose and --db apply on top of a config file', () => {
  const config = { port: 1, logger: { name: 'mine' }, persistence: { factory: 'redis', storeMessagesQos0: true } };
  const options = finalOptions(flags(['-c', 'x.json', '--very-verbose', '--db', '/tmp/db']), config);
  assert.deepEqual(options.logger, { name: 'mine', level: 'debug' });
  assert.deepEqual(options.persistence, { factory: 'level', path: '/tmp/db', storeMessagesQos0: true });
  assert.equal(options.stats, true);
  assert.deepEqual(finalOptions(flags(['-v']), { logger: false }).logger, { level: 'info' });
});

test('parseCommandLine: help, version, and the flags given', () => {
  assert.deepEqual(parseCommandLine(['--help']), { kind: 'help' });
  assert.deepEqual(parseCommandLine(['-V']), { kind: 'version' });
  assert.deepEqual(flags(['-p', '1', '-p', '2', '-v']).given, ['--port', '--verbose']);
  assert.equal(flags(['-p', '1', '-p', '2']).port, 2);
});

test('runCli runs in-process: banner on the given stderr, close() stops the broker', async () => {
  const { runCli } = await import('../src/index.js');
  let stderr = '';
  const outcome = await runCli(['-p', '0', '--host', '127.0.0.1', '--broker-id', 'inproc'], { stderr: { write: (text: string) => (stderr += text) } });
  assert.equal(outcome.status, 'running');
  if (outcome.status !== 'running') return;
  const { port } = outcome.broker.addresses[0]!;
  assert.equal(stderr, `skynet-mqtt 0.1.0 listening on mqtt://127.0.0.1:${port} (broker id inproc)\n`);
  assert.equal(outcome.broker.server.settings.stats, true);
  await outcome.broker.close();
  assert.equal(outcome.broker.server.closed, true);
});

test('runCli returns exit codes instead of exiting', async () => {
  const { runCli } = await import('../src/index.js');
  const sink = { write: () => true };
  assert.deepEqual(await runCli(['--nope'], { stderr: sink }), { status: 'exit', code: 2 });
  assert.deepEqual(await runCli(['--version'], { stdout: sink }), { status: 'exit', code: 0 });
  assert.deepEqual(await runCli(['-c', 'missing.json'], { stderr: sink, cwd: '/nonexistent' }), { status: 'exit', code: 1 });
});

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { bannerPort, freePort, killAll, spawnCli } from '@skynet-mqtt/test-support';
import { connect, nextMessage } from './helpers.js';

after(killAll);

test('prints one banner line on stderr and nothing but logs on stdout', async () => {
  const port = await freePort();
  const cli = spawnCli(['--port', String(port), '--host', '127.0.0.1', '--broker-id', 'cli-test']);
  const banner = await cli.banner();
  assert.equal(banner, `skynet-mqtt 0.1.0 listening on mqtt://127.0.0.1:${port} (broker id cli-test)`);
  cli.child.kill('SIGTERM');
  await cli.exited;
  assert.equal(cli.stderr.split('\n').filter((line) => line.includes('listening on')).length, 1);
  assert.equal(cli.stdout, '', 'the default level is warn: a clean start logs nothing');
});

test('lists every listener in the banner', async () => {
  const [port, httpPort] = [await freePort(), await freePort()];
  const cli = spawnCli(['-p', String(port), '--http-port', String(httpPort), '--host', '127.0.0.1']);
  const banner = await cli.banner();
  assert.match(banner, new RegExp(`listening on mqtt://127\\.0\\.0\\.1:${port}, ws://127\\.0\\.0\\.1:${httpPort} \\(broker id [0-9a-f]+\\)$`));
  cli.child.kill('SIGTERM');
  assert.equal((await cli.exited).code, 0);
});

test('-v logs pino JSON at info on stdout', async () => {
  const cli = spawnCli(['-p', '0', '--host', '127.0.0.1', '-v']);
  await cli.banner();
  cli.child.kill('SIGTERM');
  await cli.exited;
  const started = cli.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string }).find((log) => log.msg === 'server started');
  assert.equal(started?.level, 30);
});

test('publish and subscribe work through the started broker', async () => {
  const cli = spawnCli(['-p', '0', '--host', '127.0.0.1']);
  const port = bannerPort(await cli.banner());
  const subscriber = await connect(port);
  const publisher = await connect(port);
  try {
    await subscriber.subscribeAsync('cli/test', { qos: 1 });
    const received = nextMessage(subscriber, 'cli/test');
    await publisher.publishAsync('cli/test', 'hello', { qos: 1 });
    assert.deepEqual(await received, { payload: 'hello', qos: 1 });
  } finally {
    await Promise.all([subscriber.endAsync(true), publisher.endAsync(true)]);
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('SIGTERM disconnects clients and exits 0', async () => {
  const cli = spawnCli(['-p', '0', '--host', '127.0.0.1']);
  const port = bannerPort(await cli.banner());
  const client = await connect(port);
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  cli.child.kill('SIGTERM');
  await closed;
  const exit = await cli.exited;
  client.end(true);
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.match(cli.stderr, /SIGTERM received/);
});

test('SIGINT exits 0 too', async () => {
  const cli = spawnCli(['-p', '0', '--host', '127.0.0.1']);
  await cli.banner();
  cli.child.kill('SIGINT');
  assert.deepEqual(await cli.exited, { code: 0, signal: null });
});

test('`start` is accepted as the (optional) command, as in Mosca', async () => {
  const cli = spawnCli(['start', '-p', '0', '--host', '127.0.0.1']);
  await cli.banner();
  cli.child.kill('SIGTERM');
  assert.equal((await cli.exited).code, 0);
});

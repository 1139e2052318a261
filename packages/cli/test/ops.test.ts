/** The operations flags: --admin-port, --http-static/--http-bundle, --log-format, and admin-token. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { killAll, runCli, startBroker } from '@skynet-mqtt/test-support';
import { connect } from './helpers.js';

after(killAll);

function portOf(banner: string, scheme: string): number {
  const match = new RegExp(`${scheme}://[^ ,]*:(\\d+)`).exec(banner);
  if (!match) throw new Error(`no ${scheme} address in ${banner}`);
  return Number(match[1]);
}

test('admin-token prints a token and the hash to configure; the admin API takes the token', async (t) => {
  const made = await runCli(['admin-token']);
  assert.equal(made.code, 0);
  const { token, secretHash } = JSON.parse(made.stdout) as { token: string; secretHash: string };
  assert.ok(token.length >= 32);
  assert.match(secretHash, /^scrypt\$/);

  const dir = await mkdtemp(join(tmpdir(), 'skynet-cli-ops-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'broker.json'), JSON.stringify({ port: 0, host: '127.0.0.1', admin: { port: 0, secretHash } }));
  const broker = await startBroker([], { config: join(dir, 'broker.json') });
  t.after(() => broker.stop());
  const admin = `http://127.0.0.1:${portOf(broker.bannerLine, 'http')}`;
  assert.match(broker.bannerLine, /, admin on http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await fetch(`${admin}/api/v1/stats`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  assert.equal((await fetch(`${admin}/api/v1/stats`, { headers: { authorization: 'Bearer nope' } })).status, 401);
});

test('--http-static and --http-bundle serve files beside MQTT over WebSocket; --admin-port opens the admin listener', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'skynet-cli-static-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'index.html'), 'hello page');
  const broker = await startBroker(['-p', '0', '--host', '127.0.0.1', '--http-port', '0', '--http-static', dir, '--http-bundle', '--admin-port', '0']);
  t.after(() => broker.stop());
  const ws = portOf(broker.bannerLine, 'ws');
  assert.equal(await (await fetch(`http://127.0.0.1:${ws}/`)).text(), 'hello page');
  const bundle = await fetch(`http://127.0.0.1:${ws}/mqtt.js`);
  assert.equal(bundle.status, 200);
  assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
  const admin = portOf(broker.bannerLine, 'http');
  assert.equal((await fetch(`http://127.0.0.1:${admin}/readyz`)).status, 200);
  assert.match(await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text(), /skynet_mqtt_connections\{broker="/);
  // Without a token hash the API is off, and says how to turn it on.
  assert.equal((await fetch(`http://127.0.0.1:${admin}/api/v1/stats`)).status, 403);
});

test('--log-format pretty prints readable lines, one per connect and disconnect at info with -v', async (t) => {
  const broker = await startBroker(['-p', '0', '--host', '127.0.0.1', '-v', '--log-format', 'pretty']);
  t.after(() => broker.stop());
  const client = await connect(broker.port, { clientId: 'pretty-one' });
  await client.endAsync();
  const deadline = Date.now() + 10_000;
  while (!broker.stdout.includes('client disconnected') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const lines = broker.stdout.split('\n').filter(Boolean);
  assert.ok(lines.length > 0);
  assert.ok(lines.every((line) => !line.startsWith('{')), 'no JSON lines');
  assert.ok(lines.some((line) => line.includes('INFO') && line.includes('client connected')), broker.stdout);
  assert.ok(lines.some((line) => line.includes('client disconnected')), broker.stdout);
  assert.ok(broker.stdout.includes('disconnect request'), 'the reason is on the line');
});

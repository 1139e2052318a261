/** Mosca's `http: { bundle, static }`: files and mqtt.js's browser build beside MQTT over WebSocket. */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ConfigurationError, Server } from '../src/index.js';
import { connect, startBroker, waitFor } from './helpers.js';

async function site(t: import('node:test').TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'skynet-static-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'index.html'), '<h1>home</h1>');
  await mkdir(join(dir, 'app'));
  await writeFile(join(dir, 'app', 'main.js'), 'console.log(1)');
  return dir;
}

test('http.static serves a folder and http.bundle serves mqtt.js at /mqtt.js, on the WebSocket port', async (t) => {
  const dir = await site(t);
  const broker = await startBroker({ http: { port: 0, static: dir, bundle: true } });
  t.after(() => broker.close());
  const base = `http://127.0.0.1:${broker.server.address().find((a) => a.type === 'http')!.port}`;

  const home = await fetch(`${base}/`);
  assert.equal(home.status, 200);
  assert.match(home.headers.get('content-type') ?? '', /text\/html/);
  assert.equal(await home.text(), '<h1>home</h1>');
  const script = await fetch(`${base}/app/main.js`);
  assert.match(script.headers.get('content-type') ?? '', /javascript/);
  assert.equal(await script.text(), 'console.log(1)');

  const bundle = await fetch(`${base}/mqtt.js`);
  assert.equal(bundle.status, 200);
  const installed = await readFile(fileURLToPath(import.meta.resolve('mqtt/dist/mqtt.min')), 'utf8');
  assert.equal(await bundle.text(), installed, 'the installed mqtt package\'s browser build');

  // Nothing outside the folder, whatever the path says.
  for (const path of ['/../package.json', '/%2e%2e/package.json', '/app/../../etc/passwd', '/missing.html']) {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 404, path);
    assert.equal(await res.text(), 'Not Found\n', `${path}: Mosca's answer, word for word`);
  }
  assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${base}/%E0%A4%A`)).status, 400);

  // MQTT over WebSocket still works on the same port.
  const ws = await connect(`ws://127.0.0.1:${new URL(base).port}`);
  await ws.client.subscribeAsync('files/t');
  await ws.client.publishAsync('files/t', 'hi');
  await waitFor(() => ws.messages.length === 1, 'the message over WebSocket');
  await ws.end();
});

test("with bundle alone, any other path gets Mosca's 404 Not Found", async (t) => {
  const broker = await startBroker({ http: { port: 0, bundle: true } });
  t.after(() => broker.close());
  const base = `http://127.0.0.1:${broker.server.address().find((a) => a.type === 'http')!.port}`;
  assert.equal((await fetch(`${base}/mqtt.js`)).status, 200);
  for (const path of ['/', '/missing', '/mqtt.js/x']) {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 404, path);
    assert.equal(await res.text(), 'Not Found\n', path);
  }
});

test('without static or bundle, plain HTTP requests get 426', async (t) => {
  const broker = await startBroker({ http: { port: 0 } });
  t.after(() => broker.close());
  const port = broker.server.address().find((a) => a.type === 'http')!.port;
  const res = await fetch(`http://127.0.0.1:${port}/mqtt.js`);
  assert.equal(res.status, 426);
});

test('a static folder that does not exist, or static on an mqtt listener, stops the start', async () => {
  await assert.rejects(Server.start({ port: 0, logger: false, http: { port: 0, static: '/nonexistent/folder' } }), (error: Error) => {
    assert.ok(error instanceof ConfigurationError);
    assert.match(error.message, /not a folder/);
    return true;
  });
  assert.throws(() => new Server({ logger: false, interfaces: [{ type: 'mqtt', port: 0, bundle: true }] }), /http and https listeners only/);
});

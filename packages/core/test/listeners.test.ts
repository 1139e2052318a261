/** The listeners: MQTT over TCP, TLS, WebSocket and secure WebSocket, and their set-up errors. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { test } from 'node:test';
import { ConfigurationError, Server } from '../src/index.js';
import { connect, waitFor, type TestClient } from './helpers.js';

// Compiled tests run from dist/test; the self-signed pair (CN and SAN localhost/127.0.0.1) stays in test/.
const fixture = (name: string) => fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url));
const keyPath = fixture('tls-key.pem');
const certPath = fixture('tls-cert.pem');
const ca = readFileSync(certPath);

test('one broker serves mqtt, mqtts, ws and wss at once, and they reach each other', async (t) => {
  const credentials = { keyPath, certPath };
  const server = await Server.start({
    logger: false,
    interfaces: [
      { type: 'mqtt', port: 0, host: '127.0.0.1' },
      { type: 'mqtts', port: 0, host: '127.0.0.1', credentials },
      { type: 'http', port: 0, host: '127.0.0.1' },
      { type: 'https', port: 0, host: '127.0.0.1', credentials },
    ],
  });
  const clients: TestClient[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.end(true)));
    await server.close();
  });
  const [tcp, tls, ws, wss] = server.address();
  assert.deepEqual(server.address().map((a) => a.type), ['mqtt', 'mqtts', 'http', 'https']);
  const urls = [
    `mqtt://127.0.0.1:${tcp!.port}`,
    `mqtts://127.0.0.1:${tls!.port}`,
    `ws://127.0.0.1:${ws!.port}`,
    `wss://127.0.0.1:${wss!.port}`,
  ];
  for (const url of urls) clients.push(await connect(url, { ca, servername: 'localhost' }));
  for (const client of clients) await client.client.subscribeAsync('everyone', { qos: 1 });
  // Each transport publishes once; every client receives all four, whatever it is connected through.
  for (const [i, client] of clients.entries()) await client.client.publishAsync('everyone', `from ${urls[i]}`, { qos: 1 });
  for (const client of clients) {
    await waitFor(() => client.messages.length === 4, 'four messages on every transport');
    assert.deepEqual(client.messages.map((m) => m.payload.toString()).sort(), urls.map((u) => `from ${u}`).sort());
  }
});

test('a TLS client that does not trust the certificate is refused', async (t) => {
  const server = await Server.start({ logger: false, interfaces: [{ type: 'mqtts', port: 0, host: '127.0.0.1', credentials: { keyPath, certPath } }] });
  t.after(() => server.close());
  await assert.rejects(connect(`mqtts://127.0.0.1:${server.address()[0]!.port}`), /self.signed|certificate/i);
});

test('a TLS listener without a readable key file stops start-up with the file named', async () => {
  const missing = '/nonexistent/key.pem';
  await assert.rejects(
    Server.start({ logger: false, interfaces: [{ type: 'mqtts', port: 0, host: '127.0.0.1', credentials: { keyPath: missing, certPath } }] }),
    (error: unknown) => error instanceof ConfigurationError && error.message.includes(missing),
  );
});

test("Mosca's flat options: secure without allowNonSecure drops plain MQTT; credentials are required", async (t) => {
  const server = await Server.start({ logger: false, host: '127.0.0.1', port: 0, secure: { port: 0, keyPath, certPath } });
  t.after(() => server.close());
  assert.deepEqual(server.address().map((a) => a.type), ['mqtts']);
  assert.throws(() => new Server({ logger: false, secure: { port: 0 } }), ConfigurationError);
});

test('when one listener cannot start, the ones already open are closed again', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const takenPort = (taken.address() as net.AddressInfo).port;
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const freePort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  try {
    await assert.rejects(
      Server.start({ logger: false, interfaces: [{ type: 'mqtt', port: freePort, host: '127.0.0.1' }, { type: 'mqtt', port: takenPort, host: '127.0.0.1' }] }),
      /already in use/,
    );
    // The first interface's port is free again.
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => again.once('error', reject).listen(freePort, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => again.close(() => resolve()));
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
});

test("attachHttpServer (Mosca's): MQTT over WebSocket on the application's own HTTP server, on its path", async (t) => {
  const app = http.createServer((_req, res) => res.end('the application'));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const server = await Server.start({ logger: false, interfaces: [] });
  server.attachHttpServer(app, '/mqtt');
  const port = (app.address() as net.AddressInfo).port;
  const client = await connect(`ws://127.0.0.1:${port}/mqtt`);
  t.after(async () => {
    await client.end(true);
    await server.close();
    await new Promise<void>((resolve) => app.close(() => resolve()));
  });
  await client.client.subscribeAsync('web', { qos: 1 });
  await server.publish({ topic: 'web', payload: 'over the app', qos: 1 });
  await waitFor(() => client.messages.length === 1, 'the message over the attached WebSocket');
  assert.equal(client.messages[0]!.payload.toString(), 'over the app');
  // The application's own requests are still its own.
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'the application');
  // Upgrades on another path are not the broker's.
  const elsewhere = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`, 'mqtt');
  const outcome = await new Promise<string>((resolve) => {
    elsewhere.once('open', () => resolve('opened'));
    elsewhere.once('error', () => resolve('refused'));
  });
  elsewhere.terminate();
  assert.equal(outcome, 'refused');
});

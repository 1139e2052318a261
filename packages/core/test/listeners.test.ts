/** The listeners: MQTT over TCP, TLS, WebSocket and secure WebSocket, and their set-up errors. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
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

/** A server listening on a free loopback port, closed when the test ends. */
async function occupiedPort(t: import('node:test').TestContext): Promise<number> {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  return (taken.address() as net.AddressInfo).port;
}

test('an HTTP or HTTPS port in use is a ConfigurationError for the callback, not an uncaught error event', async (t) => {
  const port = await occupiedPort(t);
  const key = fixture('tls-key.pem');
  const cert = fixture('tls-cert.pem');
  for (const options of [{ http: { port } }, { https: { port }, credentials: { keyPath: key, certPath: cert } }, { interfaces: [{ type: 'http' as const, port, host: '127.0.0.1' }] }]) {
    const error = await new Promise<Error | null>((resolve) => void new Server({ logger: false, onlyHttp: true, host: '127.0.0.1', ...options }, (err) => resolve(err)));
    assert.ok(error instanceof ConfigurationError, `${JSON.stringify(options)}: ${String(error)}`);
    assert.match(error.message, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
    assert.equal((error as ConfigurationError).port, port);
  }
});

/** Opens a WebSocket and tells whether the upgrade was accepted, with the first message it gets. */
function tryWebSocket(url: string, protocol?: string): Promise<{ outcome: 'open' | 'refused'; first?: string; socket: WebSocket }> {
  const socket = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
  return new Promise((resolve) => {
    socket.once('open', () => {
      socket.once('message', (data) => resolve({ outcome: 'open', first: String(data), socket }));
      socket.send('hello');
    });
    socket.once('error', () => resolve({ outcome: 'refused', socket }));
  });
}

test("attachHttpServer leaves the application's own WebSocket endpoints alone, with or without a broker path", async () => {
  for (const brokerPath of ['/mqtt', undefined]) {
    const app = http.createServer((_req, res) => res.end('the application'));
    // The application's echo endpoint on /app, routed the way ws recommends for shared servers.
    const echo = new WebSocketServer({ noServer: true });
    echo.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo ${String(data)}`)));
    app.on('upgrade', (request, socket, head) => {
      if (request.url === '/app') echo.handleUpgrade(request, socket, head, (ws) => echo.emit('connection', ws, request));
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const server = await Server.start({ logger: false, interfaces: [] });
    server.attachHttpServer(app, brokerPath);
    const port = (app.address() as net.AddressInfo).port;
    const client = await connect(`ws://127.0.0.1:${port}${brokerPath ?? '/anywhere'}`);
    const appSocket = await tryWebSocket(`ws://127.0.0.1:${port}/app`);
    assert.deepEqual([appSocket.outcome, appSocket.first], ['open', 'echo hello'], `path ${String(brokerPath)}: the application's endpoint works`);
    // Its messages stay its own: the broker took no part in that upgrade (a second handshake would corrupt the frames).
    appSocket.socket.send('again');
    assert.equal(await new Promise((resolve) => appSocket.socket.once('message', (data) => resolve(String(data)))), 'echo again');
    await client.client.subscribeAsync('both', { qos: 1 });
    await server.publish({ topic: 'both', payload: 'mqtt too', qos: 1 });
    await waitFor(() => client.messages.length === 1, 'MQTT over the attached WebSocket');
    appSocket.socket.terminate();
    await client.end(true);
    await server.close();
    echo.close();
    await new Promise<void>((resolve) => app.close(() => resolve()));
  }
});

test('on its own http listener the broker refuses (404) an upgrade outside its path instead of leaving it hanging', async (t) => {
  const server = await Server.start({ logger: false, interfaces: [{ type: 'http', port: 0, host: '127.0.0.1', path: '/mqtt' }] });
  t.after(() => server.close());
  const port = server.address()[0]!.port;
  const elsewhere = new WebSocket(`ws://127.0.0.1:${port}/other`, 'mqtt');
  const status = await new Promise<number | string>((resolve) => {
    elsewhere.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    elsewhere.once('error', (error) => resolve(error.message));
  });
  elsewhere.terminate();
  assert.equal(status, 404);
  const client = await connect(`ws://127.0.0.1:${port}/mqtt`);
  await client.end(true);
});

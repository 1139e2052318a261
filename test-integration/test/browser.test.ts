/**
 * The two things a person sees in a browser, in headless Chromium: the admin dashboard (its
 * numbers move when a client publishes; a client is kicked from it; a screenshot is kept in
 * test-artifacts/) and Mosca's `http: { bundle, static }` (a page served by the broker connects
 * with the served mqtt.js over WebSocket and exchanges a message with a TCP client).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import type { Browser } from 'playwright-core';
import { adminOf } from '@skynet-mqtt/admin';
import { hashSecret, Server } from '@skynet-mqtt/core';
import { artifactPath, launchChromium } from './helpers/browser.js';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(() => browser?.close());

async function tcpClient(t: import('node:test').TestContext, port: number, clientId: string): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId, reconnectPeriod: 0 });
  t.after(() => client.endAsync(true));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

test('the dashboard shows the broker live: numbers move when a client publishes, a client can be kicked', async (t) => {
  const token = 'dashboard-test-token-0123456789';
  const server = await Server.start({ id: 'dashboard', port: 0, host: '127.0.0.1', logger: false, admin: { port: 0, secretHash: await hashSecret(token) } });
  t.after(() => server.close());
  const mqttPort = server.address()[0]!.port;
  const admin = `http://127.0.0.1:${adminOf(server)!.port}/`;
  const publisher = await tcpClient(t, mqttPort, 'publisher');
  await tcpClient(t, mqttPort, 'victim');
  const subscriber = await tcpClient(t, mqttPort, 'subscriber');
  await subscriber.subscribeAsync('dash/#', { qos: 1 });

  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  t.after(() => page.close());
  await page.goto(admin);
  await page.fill('#token', 'wrong');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error')!.textContent !== '', undefined, { timeout: 15_000 });
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('#board:not([hidden])', { timeout: 15_000 });
  await page.waitForFunction(() => document.getElementById('connections')!.textContent === '3', undefined, { timeout: 15_000 });
  assert.equal(await page.textContent('#received-total'), '0');
  await page.waitForSelector('#clients tr[data-client-id="victim"]', { timeout: 15_000 });
  assert.match((await page.textContent('#backends')) ?? '', /store MemoryStore: up/);

  // Messages for a few seconds, so the rate chart has something to draw.
  for (let i = 0; i < 30; i++) {
    await publisher.publishAsync('dash/load', `m${i}`, { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await page.waitForFunction(() => document.getElementById('received-total')!.textContent === '30', undefined, { timeout: 15_000 });
  await page.waitForFunction(() => document.getElementById('sent-total')!.textContent === '30', undefined, { timeout: 15_000 });
  await page.waitForFunction(() => (document.getElementById('line-in')!.getAttribute('points') ?? '').split(' ').length >= 3, undefined, { timeout: 15_000 });

  page.once('dialog', (dialog) => void dialog.accept());
  const kicked = new Promise<string>((resolve) => server.on('clientDisconnected', (client: { id: string }, reason: string) => client.id === 'victim' && resolve(reason)));
  await page.click('button.kick[data-client-id="victim"]');
  assert.equal(await kicked, 'disconnected by an administrator');
  await page.waitForFunction(() => !document.querySelector('#clients tr[data-client-id="victim"]'), undefined, { timeout: 15_000 });
  await page.waitForFunction(() => document.getElementById('connections')!.textContent === '2', undefined, { timeout: 15_000 });

  await page.screenshot({ path: await artifactPath('dashboard.png'), fullPage: true });
});

test('a page served with http.static connects with the served bundle (/mqtt.js) over WebSocket and talks to a TCP client', async (t) => {
  const site = await mkdtemp(join(tmpdir(), 'skynet-bundle-'));
  t.after(() => rm(site, { recursive: true, force: true }));
  await writeFile(
    join(site, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>bundle</title><p id="got">nothing yet</p>
<script src="/mqtt.js"></script>
<script>
  const client = mqtt.connect('ws://' + location.host, { clientId: 'browser' });
  client.on('message', (topic, payload) => { document.getElementById('got').textContent = topic + ' ' + payload.toString(); });
  client.on('connect', () => client.subscribe('browser/in', { qos: 1 }, () => client.publish('browser/out', 'hello from the browser', { qos: 1 })));
</script>`,
  );
  const server = await Server.start({ port: 0, host: '127.0.0.1', logger: false, http: { port: 0, static: site, bundle: true } });
  t.after(() => server.close());
  const [tcp, ws] = server.address();
  const client = await tcpClient(t, tcp!.port, 'tcp-peer');
  const fromBrowser = new Promise<string>((resolve) => client.on('message', (topic, payload) => resolve(`${topic} ${payload.toString()}`)));
  await client.subscribeAsync('browser/out', { qos: 1 });

  const page = await browser.newPage();
  t.after(() => page.close());
  await page.goto(`http://127.0.0.1:${ws!.port}/`);
  assert.equal(await fromBrowser, 'browser/out hello from the browser');
  await client.publishAsync('browser/in', 'hello from TCP', { qos: 1 });
  await page.waitForFunction(() => document.getElementById('got')!.textContent === 'browser/in hello from TCP', undefined, { timeout: 15_000 });
});

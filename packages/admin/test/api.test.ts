/** The REST API: credentials, clients (filters, paging, show, kick), retained messages, broker info. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Server } from '@skynet-mqtt/core';
import { TOKEN, startAdminBroker, waitFor } from './helpers.js';

test('the API needs the bearer token; probes and metrics do not; failures are throttled per address', async (t) => {
  const b = await startAdminBroker(t);
  assert.equal((await fetch(`${b.admin}/healthz`)).status, 200);
  assert.equal((await fetch(`${b.admin}/readyz`)).status, 200);
  assert.equal((await fetch(`${b.admin}/metrics`)).status, 200);
  const page = await fetch(`${b.admin}/`);
  assert.equal(page.status, 200, 'the dashboard page holds no data: it is served without a token');
  assert.match(await page.text(), /<title>Skynet MQTT<\/title>/);

  const none = await fetch(`${b.admin}/api/v1/stats`);
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
  assert.equal((await b.get('/api/v1/stats')).status, 200);
  assert.equal((await fetch(`${b.admin}/api/v1/stats`, { headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` } })).status, 401);
  for (let i = 0; i < 10; i++) {
    assert.equal((await fetch(`${b.admin}/api/v1/stats`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  }
  const throttled = await fetch(`${b.admin}/api/v1/stats`, { headers: { authorization: 'Bearer wrong' } });
  assert.equal(throttled.status, 429);
  assert.equal((await fetch(`${b.admin}/no/such/thing`)).status, 404);
  assert.equal((await b.get('/api/v1/nothing')).status, 404);
});

test('without admin.secretHash the API is off (403) and probes still answer', async (t) => {
  const b = await startAdminBroker(t, {}, { secretHash: undefined });
  const res = await b.get('/api/v1/stats');
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as { error: string }).error, /admin\.secretHash/);
  assert.equal((await fetch(`${b.admin}/readyz`)).status, 200);
});

test('a bad admin option stops the start with a message naming the key', async () => {
  await assert.rejects(Server.start({ port: 0, logger: false, admin: { port: 0, secret: 'clear' } }), /admin\.secret: .*secretHash/);
  await assert.rejects(Server.start({ port: 0, logger: false, admin: { port: 0, secretHash: 'not-a-hash' } }), /admin\.secretHash .*must be a hash/);
  await assert.rejects(Server.start({ port: 0, logger: false, admin: { prot: 1 } }), /admin\.prot is unknown/);
});

interface ClientList {
  brokerId: string;
  scope: string;
  total: number;
  clients: { id: string; address: string; protocolVersion: number; subscriptions: number; queued: number; inflight: number; connectedSince: string }[];
  next: string | null;
}

test('clients: listed with filters and pages, shown one by one, with their subscriptions, and kicked', async (t) => {
  const b = await startAdminBroker(t, { id: 'api-broker' });
  for (const id of ['sensor-1', 'sensor-2', 'sensor-3', 'gateway']) {
    const client = await b.connect(id === 'gateway' ? { clientId: id, protocolId: 'MQIsdp', protocolVersion: 3 } : { clientId: id });
    if (id === 'sensor-2') await client.subscribeAsync({ 'cmd/sensor-2': { qos: 1 }, 'broadcast/#': { qos: 0 } });
  }
  const all = await b.json<ClientList>('/api/v1/clients');
  assert.equal(all.brokerId, 'api-broker');
  assert.equal(all.scope, 'instance');
  assert.deepEqual(all.clients.map((c) => c.id), ['gateway', 'sensor-1', 'sensor-2', 'sensor-3']);
  assert.match(all.clients[0]!.address, /^127\.0\.0\.1:\d+$/);
  assert.equal(all.next, null);

  const page1 = await b.json<ClientList>('/api/v1/clients?id=sensor&limit=2');
  assert.deepEqual([page1.total, page1.clients.map((c) => c.id), page1.next], [3, ['sensor-1', 'sensor-2'], 'sensor-2']);
  const page2 = await b.json<ClientList>(`/api/v1/clients?id=sensor&limit=2&after=${page1.next}`);
  assert.deepEqual([page2.clients.map((c) => c.id), page2.next], [['sensor-3'], null]);
  assert.deepEqual((await b.json<ClientList>('/api/v1/clients?protocol=3')).clients.map((c) => c.id), ['gateway']);
  assert.deepEqual((await b.json<ClientList>('/api/v1/clients?subscription=broadcast%2F%23')).clients.map((c) => c.id), ['sensor-2']);
  assert.equal((await b.json<ClientList>('/api/v1/clients?address=10.')).total, 0);
  assert.equal((await b.json<ClientList>(`/api/v1/clients?connectedAfter=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).total, 0);
  assert.equal((await b.get('/api/v1/clients?connectedAfter=yesterday')).status, 400);

  const shown = await b.json<{ id: string; subscriptions: number; subscriptionList: unknown[] }>('/api/v1/clients/sensor-2');
  assert.equal(shown.subscriptions, 2);
  assert.deepEqual(await b.json('/api/v1/clients/sensor-2/subscriptions'), [
    { topic: 'cmd/sensor-2', qos: 1 },
    { topic: 'broadcast/#', qos: 0 },
  ]);
  assert.equal((await b.get('/api/v1/clients/nobody')).status, 404);

  const reasons: string[] = [];
  b.server.on('clientDisconnected', (client: { id: string }, reason: string) => reasons.push(`${client.id}: ${reason}`));
  const kicked = await b.json<{ disconnected: number }>('/api/v1/clients/sensor-3', { method: 'DELETE' });
  assert.equal(kicked.disconnected, 1);
  await waitFor(() => reasons.length === 1, 'the kick');
  assert.deepEqual(reasons, ['sensor-3: disconnected by an administrator']);
  assert.equal((await b.json<ClientList>('/api/v1/clients')).total, 3);
  assert.equal((await b.get('/api/v1/clients/sensor-3', { method: 'DELETE' })).status, 404);
});

test('retained messages: listed by filter with pages, deleted by filter without a delivery', async (t) => {
  const b = await startAdminBroker(t);
  const publisher = await b.connect();
  for (const topic of ['home/a', 'home/b', 'home/c', 'work/a']) await publisher.publishAsync(topic, `v ${topic}`, { qos: 1, retain: true });
  await publisher.publishAsync('home/bin', Buffer.from([0xff, 0x00]), { qos: 0, retain: true });
  const seen: string[] = [];
  const watcher = await b.connect();
  await watcher.subscribeAsync('home/#');
  await waitFor(() => true, 'nothing');
  watcher.on('message', (topic, _payload, packet) => {
    if (!packet.retain) seen.push(topic);
  });

  type Retained = { total: number; messages: { topic: string; payload: string | null; payloadBase64: string; size: number }[]; next: string | null };
  const first = await b.json<Retained>('/api/v1/retained?filter=home%2F%23&limit=3');
  assert.deepEqual([first.total, first.messages.map((m) => m.topic), first.next], [4, ['home/a', 'home/b', 'home/bin'], 'home/bin']);
  assert.equal(first.messages[0]!.payload, 'v home/a');
  assert.deepEqual([first.messages[2]!.payload, first.messages[2]!.payloadBase64, first.messages[2]!.size], [null, '/wA=', 2]);
  const second = await b.json<Retained>(`/api/v1/retained?filter=home%2F%23&limit=3&after=${encodeURIComponent(first.next!)}`);
  assert.deepEqual([second.messages.map((m) => m.topic), second.next], [['home/c'], null]);
  assert.equal((await b.get('/api/v1/retained')).status, 400, 'a filter is required');
  assert.equal((await b.get('/api/v1/retained?filter=a%2F%23%2Fb')).status, 400);

  const deleted = await b.json<{ deleted: number }>('/api/v1/retained?filter=home%2F%2B', { method: 'DELETE' });
  assert.equal(deleted.deleted, 4);
  assert.equal(await b.server.store.countRetained(), 1);
  await publisher.publishAsync('home/after', 'x', { qos: 1 });
  await waitFor(() => seen.includes('home/after'), 'a live message after the delete');
  assert.deepEqual(seen, ['home/after'], 'deleting sent nothing to subscribers');
});

test('broker info: version, uptime, id, listeners, backends and the configuration with secrets masked', async (t) => {
  const b = await startAdminBroker(t, { id: 'info-broker', persistence: { factory: 'memory', password: 'hunter2', url: 'redis://:pw@localhost:6379' } as never });
  const info = await b.json<Record<string, unknown>>('/api/v1/broker');
  assert.equal(info.brokerId, 'info-broker');
  assert.equal(info.scope, 'instance');
  assert.match(String(info.version), /^\d+\.\d+\.\d+$/);
  assert.equal(typeof info.uptimeSeconds, 'number');
  assert.deepEqual((info.listeners as { type: string }[]).map((l) => l.type), ['mqtt']);
  assert.deepEqual((info.backends as { role: string; up: boolean }[]).map((x) => [x.role, x.up]), [['store', true], ['emitter', true]]);
  const text = JSON.stringify(info);
  for (const secret of ['hunter2', ':pw@', 'scrypt$']) assert.ok(!text.includes(secret), `${secret} is masked`);
  const configuration = info.configuration as { persistence: Record<string, string>; admin: Record<string, unknown> };
  assert.equal(configuration.persistence.password, '***');
  assert.equal(configuration.persistence.url, 'redis://:***@localhost:6379');
  assert.equal(configuration.admin.secretHash, '***');
});

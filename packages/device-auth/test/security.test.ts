/**
 * The security properties of device auth through real MQTT clients and HTTP: brute force is
 * refused without hashing and never lets a token in, revocation and expiry close live
 * connections, the admin API needs an admin identity, and no token reaches a log, `$SYS` or the
 * Store in clear.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { closed, connackCode, sleep, useDeviceBroker, waitFor, ADMIN, SECRET } from './helpers.js';
import { resolveDeviceAuthOptions } from '../src/index.js';

const basic = (name: string, secret: string) => `Basic ${Buffer.from(`${name}:${secret}`).toString('base64')}`;

async function api(port: number, method: string, path: string, body?: unknown, auth = basic(ADMIN.name, ADMIN.secret)) {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/devices${path}`, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { token?: string; uuid?: string } };
}

describe('brute force', () => {
  test('after maxFailures wrong tokens the uuid is refused at once, even with the right token; nothing ever got in', async (t) => {
    const h = await useDeviceBroker(t, { maxFailures: 5, failureWindow: 600_000 });
    const { uuid, token } = await h.service.register({}, 'test');
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push(await connackCode(h, uuid, `guess-${i}`));
    assert.deepEqual(codes, Array(12).fill(5), 'no wrong token is ever accepted');
    // Refused without a look at the credentials: the right one is refused too while blocked.
    assert.equal(await connackCode(h, uuid, token), 5);
    assert.ok(h.logs.some((l) => l.includes('"reason":"throttled"')), 'the blocked attempts are logged as throttled');
    assert.equal(h.logs.filter((l) => l.includes('authentication failed')).length <= 3, true, 'failures are rate-limited in the log');
  });

  test('the source address is blocked too: guessing across many uuids from one address is stopped', async (t) => {
    const h = await useDeviceBroker(t, { maxFailures: 4, failureWindow: 600_000 });
    const victim = await h.service.register({}, 'test');
    for (let i = 0; i < 4; i++) await connackCode(h, (await h.service.register({}, 'test')).uuid, 'wrong');
    assert.equal(await connackCode(h, victim.uuid, victim.token), 5, 'the address (127.0.0.1) is blocked');
  });

  test('the block ends with its window; a right token then works', async (t) => {
    const h = await useDeviceBroker(t, { maxFailures: 2, failureWindow: 3000 });
    const { uuid, token } = await h.service.register({}, 'test');
    await connackCode(h, uuid, 'a');
    await connackCode(h, uuid, 'b');
    assert.equal(await connackCode(h, uuid, token), 5);
    const deadline = Date.now() + 10_000;
    while ((await connackCode(h, uuid, token)) !== 0) {
      assert.ok(Date.now() < deadline, 'the block never ended');
      await sleep(100);
    }
  });
});

describe('revocation and expiry', () => {
  test('reset, revoke by value, unregister: every connection that used the credential closes; others stay', async (t) => {
    const h = await useDeviceBroker(t);
    const device = await h.service.register({}, 'test');
    const session = await h.service.createToken(device.uuid, { tag: 't' }, 'test');
    const root = await h.connect(device.uuid, device.token, { clientId: 'root' });
    const viaSession = await h.connect(device.uuid, session.token, { clientId: 'session' });
    const reset = await h.service.resetToken(device.uuid, 'test');
    await closed(root.client);
    assert.equal(viaSession.client.connected, true);
    assert.equal(await connackCode(h, device.uuid, device.token), 5, 'the old root token');
    const again = await h.connect(device.uuid, reset.token, { clientId: 'root2' });
    assert.equal(await h.service.revokeToken(device.uuid, { token: session.token }, 'test'), 1);
    await closed(viaSession.client);
    assert.equal(again.client.connected, true);
    await h.service.unregister(device.uuid, 'test');
    await closed(again.client);
    assert.equal(await connackCode(h, device.uuid, reset.token), 5);
  });

  test('an expiring session token stops working at its expiry and its connection is closed then', async (t) => {
    const h = await useDeviceBroker(t);
    const device = await h.service.register({}, 'test');
    const session = await h.service.createToken(device.uuid, { expiresIn: 1500 }, 'test');
    const { client } = await h.connect(device.uuid, session.token);
    await closed(client);
    assert.ok(Date.now() >= session.expiresAt!, 'not closed before its expiry');
    assert.equal(await connackCode(h, device.uuid, session.token), 5);
  });

  test('a verified token is cached only until a revocation: the cache never lets a revoked token in', async (t) => {
    const h = await useDeviceBroker(t, { cacheTtl: 600_000 });
    const device = await h.service.register({}, 'test');
    const session = await h.service.createToken(device.uuid, {}, 'test');
    assert.equal(await connackCode(h, device.uuid, session.token), 0);
    assert.equal(await connackCode(h, device.uuid, session.token), 0);
    await h.service.revokeToken(device.uuid, { token: session.token }, 'test');
    await waitFor(() => h.logs.some((l) => l.includes('device revoked')), 'the notice applied');
    assert.equal(await connackCode(h, device.uuid, session.token), 5);
  });
});

describe('admin HTTP API', () => {
  test('provisions a device end to end; every request needs an admin identity', async (t) => {
    const h = await useDeviceBroker(t, { admin: { port: 0 } });
    const port = h.adminPort();
    assert.equal((await api(port, 'GET', '', undefined, '')).status, 401);
    assert.equal((await api(port, 'GET', '', undefined, basic(ADMIN.name, 'wrong'))).status, 401);
    const created = await api(port, 'POST', '', { meta: { name: 'lamp' }, whitelists: { message: { from: [{ uuid: '*' }] } } });
    assert.equal(created.status, 201);
    const { uuid, token } = created.body;
    assert.equal(await connackCode(h, uuid, token), 0);
    const shown = await api(port, 'GET', `/${uuid}`);
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body.meta, { name: 'lamp' });
    assert.equal(shown.body.rootTokenHash, undefined);
    assert.equal((await api(port, 'GET', '')).body.length, 1);
    assert.equal((await api(port, 'PATCH', `/${uuid}`, { whitelists: { discover: { view: 'x' } } })).status, 400);
    const session = await api(port, 'POST', `/${uuid}/tokens`, { tag: 'ci', expiresIn: '1h' });
    assert.equal(session.status, 201);
    assert.equal(await connackCode(h, uuid, session.body.token), 0);
    assert.deepEqual((await api(port, 'POST', `/${uuid}/tokens/revoke`, { tag: 'ci' })).body, { uuid, revoked: 1 });
    const reset = await api(port, 'POST', `/${uuid}/token`);
    assert.equal(await connackCode(h, uuid, token), 5);
    assert.equal(await connackCode(h, uuid, reset.body.token), 0);
    assert.equal((await api(port, 'DELETE', `/${uuid}`)).status, 200);
    assert.equal((await api(port, 'GET', `/${uuid}`)).status, 404);
    assert.equal((await api(port, 'PUT', `/${uuid}`)).status, 405);
  });
});

describe('no token in clear', () => {
  test('tokens appear in no log line, no $SYS message and no Store record', async (t) => {
    const h = await useDeviceBroker(t, { admin: { port: 0 } });
    const sys = await h.connect(ADMIN.name, ADMIN.secret, { clientId: 'watcher' });
    await sys.client.subscribeAsync('$SYS/#');
    const device = await h.service.register({}, 'test');
    const session = await h.service.createToken(device.uuid, { tag: 'x' }, 'test');
    const main = await h.connect(device.uuid, device.token, { clientId: 'main' });
    await main.client.subscribeAsync(device.uuid);
    await main.client.publishAsync('generateAndStoreToken', '{}', { qos: 1 });
    await waitFor(() => main.received.length === 1, 'the token answer');
    const generated = JSON.parse(main.received[0]!.payload).data.token as string;
    await connackCode(h, device.uuid, `${session.token}-wrong`);
    main.client.publish('resetToken', '{}', { qos: 1 });
    await closed(main.client);
    const reset = JSON.parse(main.received[1]!.payload).data.token as string;
    await h.service.revokeToken(device.uuid, { token: session.token }, 'test');
    await waitFor(() => sys.received.some((m) => m.topic.endsWith('/auth/revoked')), 'the revocation event');
    assert.ok(sys.received.some((m) => m.topic.endsWith('/auth/failures')));

    const stored: string[] = [];
    for (const collection of ['devices', 'device-tokens']) for (const r of await h.server.store.listRecords(collection)) stored.push(r.key, r.value.toString());
    const everything = [...h.logs, ...sys.received.map((m) => `${m.topic} ${m.payload}`), ...stored].join('\n');
    for (const token of [device.token, session.token, generated, reset]) assert.ok(!everything.includes(token), 'a token was found in clear');
    assert.ok(stored.length >= 4 && h.logs.length > 5, 'there was something to search');
  });
});

describe('options', () => {
  test('the secret comes from the config or SKYNET_MQTT_SECRET, never a default; bad settings name their key', () => {
    assert.throws(() => resolveDeviceAuthOptions({}, {}), /deviceAuth.secret is not set.*SKYNET_MQTT_SECRET/);
    assert.equal(resolveDeviceAuthOptions({}, { SKYNET_MQTT_SECRET: SECRET }).secret, SECRET);
    assert.throws(() => resolveDeviceAuthOptions({ secret: 'short' }, {}), /at least 32 characters/);
    assert.throws(() => resolveDeviceAuthOptions({ secret: SECRET, admins: [{ name: 'x', secretHash: 'plain' }] }, {}), /admins\[0\].secretHash must be a hash/);
    assert.throws(() => resolveDeviceAuthOptions({ secret: SECRET, admin: { port: 'x' } }, {}), /admin.port/);
    assert.throws(() => resolveDeviceAuthOptions({ secret: SECRET, sekret: 1 }, {}), /sekret is not a deviceAuth setting/);
  });
});

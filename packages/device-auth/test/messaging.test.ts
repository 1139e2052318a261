/**
 * Skynet's message model through real MQTT clients on a memory store: authentication, the command
 * topics, `message` with whitelists and the true `fromUuid`, broadcasts, subscriptions, the
 * requests (whoami, update, tokens) and the refusals that close the connection.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { closed, connackCode, sleep, useDeviceBroker, waitFor, ADMIN, type Harness } from './helpers.js';

const open = { message: { from: [{ uuid: '*' }] } };

/** Three devices: `a` admits everyone, `b` admits only `c`, `c` broadcasts to `a` only. */
async function fleet(h: Harness) {
  const c0 = await h.service.register({}, 'test');
  const a = await h.service.register({ whitelists: open }, 'test');
  const b = await h.service.register({ whitelists: { message: { from: [{ uuid: c0.uuid }] } } }, 'test');
  await h.service.update(c0.uuid, { whitelists: { broadcast: { sent: [{ uuid: a.uuid }] } } }, 'test');
  return { a, b, c: c0 };
}

async function online(h: Harness, device: { uuid: string; token: string }) {
  const connection = await h.connect(device.uuid, device.token, { clientId: `c-${device.uuid.slice(0, 8)}` });
  await connection.client.subscribeAsync(device.uuid, { qos: 1 });
  return connection;
}

describe('device authentication', () => {
  test('uuid + token is accepted; a wrong token, an unknown uuid, no credentials: CONNACK 5', async (t) => {
    const h = await useDeviceBroker(t);
    const { uuid, token } = await h.service.register({}, 'test');
    assert.equal(await connackCode(h, uuid, token), 0);
    assert.equal(await connackCode(h, uuid, `${token}x`), 5);
    assert.equal(await connackCode(h, '6f1c2e3a-0000-4000-8000-000000000000', token), 5);
    assert.equal(await connackCode(h), 5);
    assert.equal(await connackCode(h, uuid), 5);
    assert.equal(await connackCode(h, ADMIN.name, ADMIN.secret), 0);
    assert.equal(await connackCode(h, ADMIN.name, 'wrong'), 5);
  });

  test('allowAnonymous admits clients without credentials read-only: open broadcasts only, no publish', async (t) => {
    const h = await useDeviceBroker(t, { allowAnonymous: true });
    const speaker = await h.service.register({ whitelists: { broadcast: { sent: [{ uuid: '*' }] } } }, 'test');
    const quiet = await h.service.register({}, 'test');
    const anonymous = await h.connect(undefined, undefined, { clientId: 'anon' });
    await anonymous.client.subscribeAsync(`${speaker.uuid}_bc`);
    await assert.rejects(anonymous.client.subscribeAsync(`${quiet.uuid}_bc`));
    const sender = await online(h, speaker);
    await sender.client.publishAsync('message', JSON.stringify({ devices: '*', payload: 'hello all' }), { qos: 1 });
    await waitFor(() => anonymous.received.length === 1, 'the broadcast');
    anonymous.client.publish('message', JSON.stringify({ devices: '*' }), { qos: 1 });
    await closed(anonymous.client);
  });
});

describe('message', () => {
  test('reaches the allowed target as {topic, data: {..., fromUuid}} with the true sender, even when forged; not the others', async (t) => {
    const h = await useDeviceBroker(t);
    const { a, b, c } = await fleet(h);
    const [onA, onB, onC] = [await online(h, a), await online(h, b), await online(h, c)];
    const forged = { devices: [b.uuid, a.uuid], topic: 'greeting', payload: { text: 'hi' }, fromUuid: b.uuid };
    await onC.client.publishAsync('message', JSON.stringify(forged), { qos: 1 });
    await onA.client.publishAsync('message', JSON.stringify({ devices: [b.uuid], payload: 'from a' }), { qos: 1 });
    await waitFor(() => onA.received.length === 1 && onB.received.length === 1, 'the deliveries');
    const expected = { topic: 'message', data: { devices: [b.uuid, a.uuid], topic: 'greeting', payload: { text: 'hi' }, fromUuid: c.uuid } };
    assert.deepEqual(JSON.parse(onA.received[0]!.payload), expected);
    assert.deepEqual(JSON.parse(onB.received[0]!.payload), expected);
    assert.equal(onA.received[0]!.topic, a.uuid);
    await sleep(200);
    assert.equal(onB.received.length, 1, 'b does not admit a: its message is dropped');
    assert.equal(onC.received.length, 0);
    assert.ok(h.logs.some((l) => l.includes('does not admit the sender')));
  });

  test('replyErrors: the sender gets an error reply on its own topic for a target that refused it', async (t) => {
    const h = await useDeviceBroker(t, { replyErrors: true });
    const { a, b } = await fleet(h);
    const onA = await online(h, a);
    await onA.client.publishAsync('message', JSON.stringify({ devices: [b.uuid], payload: 1 }), { qos: 1 });
    await waitFor(() => onA.received.length === 1, 'the error reply');
    assert.deepEqual(JSON.parse(onA.received[0]!.payload), { topic: 'error', data: { command: 'message', error: `not allowed to message ${b.uuid}` } });
  });

  test('"*" broadcasts on <sender>_bc to subscribers its broadcast.sent admits; others get SUBACK 0x80', async (t) => {
    const h = await useDeviceBroker(t);
    const { a, b, c } = await fleet(h);
    const [onA, onB, onC] = [await online(h, a), await online(h, b), await online(h, c)];
    await onA.client.subscribeAsync(`${c.uuid}_bc`, { qos: 1 });
    const refused = await onB.client.subscribeAsync(`${c.uuid}_bc`).then(
      () => 'granted',
      (error: { message: string }) => error.message,
    );
    assert.match(refused, /Unspecified error|128/);
    await onC.client.publishAsync('message', JSON.stringify({ devices: '*', payload: 'news' }), { qos: 1 });
    await waitFor(() => onA.received.length === 1, 'the broadcast on a');
    assert.deepEqual(onA.received[0], { topic: `${c.uuid}_bc`, payload: JSON.stringify({ topic: 'message', data: { devices: '*', payload: 'news', fromUuid: c.uuid } }) });
    // Without broadcast.sent, b's broadcast reaches nobody.
    await onB.client.publishAsync('message', JSON.stringify({ devices: '*', payload: 'x' }), { qos: 1 });
    await sleep(200);
    assert.equal(onA.received.length + onB.received.length, 1);
  });

  test('a whitelist change applies to existing subscriptions at once (checked again at delivery)', async (t) => {
    const h = await useDeviceBroker(t);
    const { a, c } = await fleet(h);
    const onA = await online(h, a);
    const onC = await online(h, c);
    await onA.client.subscribeAsync(`${c.uuid}_bc`, { qos: 1 });
    await h.service.update(c.uuid, { whitelists: { broadcast: { sent: [] } } }, 'test');
    await onC.client.publishAsync('message', JSON.stringify({ devices: '*', payload: 'after' }), { qos: 1 });
    await h.service.update(a.uuid, { whitelists: { message: { from: [] } } }, 'test');
    await onC.client.publishAsync('message', JSON.stringify({ devices: [a.uuid], payload: 'direct' }), { qos: 1 });
    await onA.client.publishAsync('whoami', '{}', { qos: 1 }); // a barrier: answered after the above
    await waitFor(() => onA.received.length > 0, 'the whoami answer');
    assert.deepEqual(onA.received.map((m) => JSON.parse(m.payload).topic), ['whoami']);
  });
});

describe('subscriptions and publishes a device may not make', () => {
  test('# and another device topic get 0x80; its own uuid is granted', async (t) => {
    const h = await useDeviceBroker(t);
    const { a, b } = await fleet(h);
    const onA = await h.connect(a.uuid, a.token);
    await onA.client.subscribeAsync(a.uuid);
    for (const topic of ['#', b.uuid, '$SYS/#', `${b.uuid}_bc`, '+']) {
      await assert.rejects(onA.client.subscribeAsync(topic), (error: { packet?: { granted?: number[] } }) => {
        assert.deepEqual(error.packet?.granted, [128], topic);
        return true;
      });
    }
  });

  for (const [what, topic, payload] of [
    ['a topic that is not a command', 'some/topic', '{}'],
    ['another device topic', '6f1c2e3a-0000-4000-8000-000000000000', '{}'],
    ['a body that is not JSON', 'message', 'not json'],
    ['a JSON body that is not an object', 'data', '[1,2]'],
  ] as const) {
    test(`${what}: the connection is closed and a log line says why`, async (t) => {
      const h = await useDeviceBroker(t);
      const device = await h.service.register({}, 'test');
      const { client } = await h.connect(device.uuid, device.token);
      client.publish(topic, payload, { qos: 1 });
      await closed(client);
      assert.ok(h.logs.some((l) => l.includes('publish refused, closing')));
    });
  }
});

describe('requests on the device topic', () => {
  test('whoami answers with the record without secrets; another device only if its discover.view admits', async (t) => {
    const h = await useDeviceBroker(t);
    const { a, b } = await fleet(h);
    const onA = await online(h, a);
    await onA.client.publishAsync('whoami', '{}', { qos: 1 });
    await onA.client.publishAsync('whoami', JSON.stringify({ uuid: b.uuid }), { qos: 1 });
    await waitFor(() => onA.received.length === 2, 'two answers');
    const [mine, other] = onA.received.map((m) => JSON.parse(m.payload));
    assert.equal(mine.topic, 'whoami');
    assert.equal(mine.data.uuid, a.uuid);
    assert.equal(mine.data.rootTokenHash, undefined);
    assert.ok(!JSON.stringify(mine).includes(a.token));
    assert.deepEqual(other, { topic: 'error', data: { command: 'whoami', error: `no device ${b.uuid} that you may act on` } });
  });

  test('update by the device itself and by a device on configure.update; Skynet lists are mapped', async (t) => {
    const h = await useDeviceBroker(t);
    const { a, b } = await fleet(h);
    await h.service.update(b.uuid, { configureWhitelist: [a.uuid] }, 'test');
    const onA = await online(h, a);
    await onA.client.publishAsync('update', JSON.stringify({ uuid: b.uuid, sendWhitelist: ['*'], meta: { name: 'lamp' } }), { qos: 1 });
    await waitFor(() => onA.received.length === 1, 'the update answer');
    const answer = JSON.parse(onA.received[0]!.payload);
    assert.equal(answer.topic, 'update');
    assert.deepEqual(answer.data.whitelists.message.from, [{ uuid: '*' }]);
    assert.deepEqual(answer.data.meta, { name: 'lamp' });
    assert.deepEqual((await h.service.show(b.uuid)).whitelists.configure.update, [{ uuid: a.uuid }]);
  });

  test('generateAndStoreToken answers a session token that works; revokeToken by tag closes its connection', async (t) => {
    const h = await useDeviceBroker(t);
    const device = await h.service.register({}, 'test');
    const main = await online(h, device);
    await main.client.publishAsync('generateAndStoreToken', JSON.stringify({ tag: 'night', expiresIn: '1h' }), { qos: 1 });
    await waitFor(() => main.received.length === 1, 'the new token');
    const issued = JSON.parse(main.received[0]!.payload).data;
    assert.equal(issued.tag, 'night');
    const second = await h.connect(device.uuid, issued.token, { clientId: 'second' });
    await main.client.publishAsync('revokeToken', JSON.stringify({ tag: 'night' }), { qos: 1 });
    await closed(second.client);
    await waitFor(() => main.received.length === 2, 'the revocation answer');
    assert.deepEqual(JSON.parse(main.received[1]!.payload), { topic: 'revokeToken', data: { uuid: device.uuid, revoked: 1 } });
    assert.equal(await connackCode(h, device.uuid, issued.token), 5);
    assert.equal(main.client.connected, true, 'the root token connection stays');
  });

  test('resetToken on itself: the answer arrives, then the connection closes; the new token works, the old one no more', async (t) => {
    const h = await useDeviceBroker(t);
    const device = await h.service.register({}, 'test');
    const main = await online(h, device);
    const end = closed(main.client);
    main.client.publish('resetToken', '{}', { qos: 1 });
    await end;
    assert.equal(main.received.length, 1);
    const answer = JSON.parse(main.received[0]!.payload);
    assert.equal(answer.topic, 'resetToken');
    assert.equal(await connackCode(h, device.uuid, device.token), 5);
    assert.equal(await connackCode(h, device.uuid, answer.data.token), 0);
  });

  test('a token request without a subscription to its own topic is refused and changes nothing', async (t) => {
    const h = await useDeviceBroker(t);
    const device = await h.service.register({}, 'test');
    const { client } = await h.connect(device.uuid, device.token);
    await client.publishAsync('resetToken', '{}', { qos: 1 });
    assert.equal(await connackCode(h, device.uuid, device.token), 0);
  });
});

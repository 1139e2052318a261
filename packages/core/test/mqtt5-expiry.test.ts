/**
 * MQTT 5 timers: Message Expiry Interval (live, queued, retained), Session Expiry Interval and
 * Will Delay Interval. Intervals are one second (MQTT counts them in seconds), waits a little more.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { disconnect, disconnectionOf, flush, harness, roundTrip, sleep, waitFor } from './helpers.js';

describe('MQTT 5 Message Expiry Interval', () => {
  test('a queued message goes out with its interval reduced by the time it waited [MQTT-3.3.2-6]', async (t) => {
    const broker = await harness(t);
    const options = { protocolVersion: 5 as const, clientId: 'waits', clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await broker.connect(options);
    await first.client.subscribeAsync('exp/#', { qos: 1 });
    await disconnect(broker, first);
    await broker.server.publish({ topic: 'exp/reduced', payload: 'x', qos: 1, properties: { messageExpiryInterval: 10 } });
    await sleep(1100);
    const second = await broker.connect(options);
    await waitFor(() => second.messages.length === 1, 'the queued message');
    const interval = second.messages[0]!.properties?.messageExpiryInterval;
    assert.ok(interval !== undefined && interval <= 9 && interval >= 1, `interval ${interval}`);
  });

  test('an expired queued message is not delivered; the others are, and the drop is counted [MQTT-3.3.2-5]', async (t) => {
    const broker = await harness(t);
    const options = { protocolVersion: 5 as const, clientId: 'late', clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await broker.connect(options);
    await first.client.subscribeAsync('exp/#', { qos: 1 });
    await disconnect(broker, first);
    await broker.server.publish({ topic: 'exp/short', payload: 'gone', qos: 1, properties: { messageExpiryInterval: 1 } });
    await broker.server.publish({ topic: 'exp/forever', payload: 'kept', qos: 1 });
    await sleep(1200);
    const second = await broker.connect(options);
    await waitFor(() => second.messages.length === 1, 'the message that did not expire');
    await roundTrip(second);
    assert.deepEqual(second.messages.filter((m) => m.topic.startsWith('exp/')).map((m) => m.topic), ['exp/forever']);
    assert.equal(broker.server.stats.droppedBy.expired, 1);
  });

  test('an expired retained message is no longer sent, to 5.0 and 3.1.1 subscribers alike', async (t) => {
    const broker = await harness(t);
    await broker.server.publish({ topic: 'exp/retained', payload: 'r', qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    const early = await broker.subscriber({ 'exp/retained': 1 }, { protocolVersion: 5 });
    await waitFor(() => early.messages.length === 1, 'the retained message while it lives');
    assert.equal(early.messages[0]!.properties?.messageExpiryInterval, 1);
    await sleep(1200);
    const late5 = await broker.subscriber({ 'exp/retained': 1 }, { protocolVersion: 5 });
    const late3 = await broker.subscriber({ 'exp/retained': 1 });
    await roundTrip(late5);
    await roundTrip(late3);
    assert.deepEqual(late5.messages.filter((m) => m.topic === 'exp/retained'), []);
    assert.deepEqual(late3.messages.filter((m) => m.topic === 'exp/retained'), []);
  });

  test('a live message keeps its interval (it did not wait) and 3.1.1 subscribers get it too', async (t) => {
    const broker = await harness(t);
    const v5 = await broker.subscriber({ 'exp/live': 1 }, { protocolVersion: 5 });
    const v3 = await broker.subscriber({ 'exp/live': 1 });
    const publisher = await broker.connect({ protocolVersion: 5 });
    await publisher.client.publishAsync('exp/live', 'now', { qos: 1, properties: { messageExpiryInterval: 30 } });
    await flush(v3, publisher);
    await waitFor(() => v5.messages.length === 1, 'the live message');
    assert.equal(v5.messages[0]!.properties?.messageExpiryInterval, 30);
    assert.equal(v3.messages.length, 1);
  });
});

describe('MQTT 5 Session Expiry Interval', () => {
  test('a session expires once offline for its interval; within it, it is resumed', async (t) => {
    const broker = await harness(t);
    const options = { protocolVersion: 5 as const, clientId: 'expiring', clean: false, properties: { sessionExpiryInterval: 1 } };
    const first = await broker.connect(options);
    await first.client.subscribeAsync('sess/#', { qos: 1 });
    await disconnect(broker, first);
    const back = await broker.connect(options);
    assert.equal(back.connack.sessionPresent, true, 'resumed within the interval');
    await disconnect(broker, back);
    await broker.server.publish({ topic: 'sess/1', payload: 'queued', qos: 1 });
    await sleep(1300);
    const late = await broker.connect(options);
    assert.equal(late.connack.sessionPresent, false, 'expired after it');
    await roundTrip(late);
    assert.deepEqual(late.messages.filter((m) => m.topic === 'sess/1'), [], 'its queue went with it');
  });
});

describe('MQTT 5 Will Delay Interval', () => {
  /** A 5.0 client with a will on `wills/<clientId>`, delayed `delay` s, and the session's interval. */
  function willOptions(clientId: string, delay: number, sessionExpiryInterval: number, clean = false) {
    return {
      protocolVersion: 5 as const,
      clientId,
      clean,
      properties: { sessionExpiryInterval },
      will: { topic: `wills/${clientId}`, payload: Buffer.from('late'), qos: 1 as const, retain: false, properties: { willDelayInterval: delay } },
    };
  }

  async function dropConnection(broker: Awaited<ReturnType<typeof harness>>, client: { client: { stream: { destroy(): void } } }, clientId: string) {
    const ended = disconnectionOf(broker.server, clientId);
    client.client.stream.destroy();
    await ended;
  }

  test('the will waits for its delay [MQTT-3.1.2-8]', async (t) => {
    const broker = await harness(t);
    const watcher = await broker.subscriber({ 'wills/#': 1 });
    const dying = await broker.connect(willOptions('delayed', 1, 60));
    await dropConnection(broker, dying, 'delayed');
    await sleep(300);
    await roundTrip(watcher);
    assert.deepEqual(watcher.messages.filter((m) => m.topic === 'wills/delayed'), [], 'not yet');
    await waitFor(() => watcher.messages.some((m) => m.topic === 'wills/delayed'), 'the will after its delay', 5000);
  });

  test('a reconnect within the delay cancels it [MQTT-3.1.3-9]; a Clean Start sends it at once', async (t) => {
    const broker = await harness(t);
    const watcher = await broker.subscriber({ 'wills/#': 1 });
    const dying = await broker.connect(willOptions('returns', 1, 60));
    await dropConnection(broker, dying, 'returns');
    await broker.connect({ protocolVersion: 5, clientId: 'returns', clean: false, properties: { sessionExpiryInterval: 60 } });
    const other = await broker.connect(willOptions('restarts', 5, 60));
    await dropConnection(broker, other, 'restarts');
    await broker.connect({ protocolVersion: 5, clientId: 'restarts', clean: true });
    await waitFor(() => watcher.messages.some((m) => m.topic === 'wills/restarts'), 'the will of the session a Clean Start ended');
    await sleep(1300);
    await roundTrip(watcher);
    assert.deepEqual(watcher.messages.filter((m) => m.topic === 'wills/returns'), [], 'cancelled by the reconnect');
  });

  test('the session ending first sends it: at once with an interval of 0, at expiry with a shorter one', async (t) => {
    const broker = await harness(t);
    const watcher = await broker.subscriber({ 'wills/#': 1 });
    const brief = await broker.connect(willOptions('no-session', 30, 0, true));
    await dropConnection(broker, brief, 'no-session');
    await waitFor(() => watcher.messages.some((m) => m.topic === 'wills/no-session'), 'the will at once');
    const shorter = await broker.connect(willOptions('expires-first', 30, 1));
    const droppedAt = Date.now();
    await dropConnection(broker, shorter, 'expires-first');
    await waitFor(() => watcher.messages.some((m) => m.topic === 'wills/expires-first'), 'the will at session expiry', 5000);
    assert.ok(Date.now() - droppedAt < 10_000, 'well before its 30 s delay');
  });
});

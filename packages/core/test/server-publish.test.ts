/** server.publish(packet, [client], [callback]) from the host application, and its promise. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Client, Message } from '../src/index.js';
import { disconnect, flush, harness, payloads, recordEvents, waitFor } from './helpers.js';

type Callback = (error: Error | undefined, packet?: Message) => void;

/** Calls server.publish with a callback and resolves with what the callback received. */
function withCallback(call: (callback: Callback) => unknown): Promise<[Error | undefined, Message | undefined]> {
  return new Promise((resolve) => void call((error, packet) => resolve([error, packet])));
}

describe('server.publish', () => {
  test('reaches subscribers; the promise resolves with the message', async (t) => {
    const h = await harness(t);
    const sub = await h.subscriber({ 'sp/#': 1 });
    const message = await h.server.publish({ topic: 'sp/a', payload: 'text', qos: 1 });
    assert.deepEqual(message, { id: message.id, messageId: message.id, topic: 'sp/a', payload: Buffer.from('text'), qos: 1, retain: false });
    await h.server.publish({ topic: 'sp/b', payload: Buffer.from('buffer') });
    await h.server.publish({ topic: 'sp/c', payload: new Uint8Array([0x61, 0x62]) });
    await h.server.publish({ topic: 'sp/d' }); // no payload: empty
    await waitFor(() => sub.messages.length === 4, 'four messages');
    assert.deepEqual(sub.messages.map((m) => [m.topic, m.payload.toString(), m.qos]), [
      ['sp/a', 'text', 1],
      ['sp/b', 'buffer', 0],
      ['sp/c', 'ab', 0],
      ['sp/d', '', 0],
    ]);
  });

  test('the callback receives the packet, with or without a client argument', async (t) => {
    const h = await harness(t);
    const sub = await h.subscriber({ 'cb/#': 0 });
    const client: Client = h.server.clients[sub.client.options.clientId!]!;
    const forms: [string, (cb: Callback) => unknown][] = [
      ['publish(packet, cb)', (cb) => h.server.publish({ topic: 'cb/1', payload: '1' }, cb)],
      ['publish(packet, null, cb)', (cb) => h.server.publish({ topic: 'cb/2', payload: '2' }, null, cb)],
      ['publish(packet, client, cb)', (cb) => h.server.publish({ topic: 'cb/3', payload: '3' }, client, cb)],
    ];
    for (const [i, [form, call]] of forms.entries()) {
      const [error, packet] = await withCallback(call);
      assert.equal(error, undefined, form);
      assert.equal(packet?.topic, `cb/${i + 1}`, form);
      assert.ok(packet?.payload.equals(Buffer.from(String(i + 1))), form);
    }
    await flush(sub, h.server);
    assert.deepEqual(payloads(sub), ['1', '2', '3']);
  });

  test('the published event fires with (packet, null) for the host and (packet, client) for clients', async (t) => {
    const h = await harness(t);
    const events = recordEvents(h.server, ['published']);
    await h.server.publish({ topic: 'ev/host', payload: 'h' });
    const pub = await h.connect({ clientId: 'ev-pub' });
    await pub.client.publishAsync('ev/client', 'c', { qos: 1 });
    const mine = events.filter((e) => (e.args[0] as Message).topic.startsWith('ev/'));
    assert.equal(mine.length, 2);
    assert.equal((mine[0]!.args[0] as Message).topic, 'ev/host');
    assert.equal(mine[0]!.args[1], null);
    assert.equal((mine[1]!.args[0] as Message).topic, 'ev/client');
    assert.equal((mine[1]!.args[1] as Client).id, 'ev-pub');
  });

  test('a retained publish is stored for later subscribers', async (t) => {
    const h = await harness(t);
    await h.server.publish({ topic: 'sp/retained', payload: 'kept', qos: 1, retain: true });
    const sub = await h.subscriber({ 'sp/retained': 1 });
    await waitFor(() => sub.messages.length === 1, 'the retained message');
    assert.deepEqual([sub.messages[0]!.payload.toString(), sub.messages[0]!.retain], ['kept', true]);
  });

  test('a QoS 1 publish is queued for an offline durable session', async (t) => {
    const h = await harness(t);
    const options = { clientId: 'sp-durable', clean: false };
    await disconnect(h, await h.subscriber({ 'sp/offline': 1 }, options));
    await h.server.publish({ topic: 'sp/offline', payload: 'while away', qos: 1 });
    const again = await h.connect(options);
    await waitFor(() => again.messages.length === 1, 'the queued message');
    assert.deepEqual([again.messages[0]!.payload.toString(), again.messages[0]!.qos], ['while away', 1]);
  });

  for (const [what, packet] of [
    ['a wildcard topic', { topic: 'a/+' }],
    ['an empty topic', { topic: '' }],
    // The string rules of the wire apply to the application's topics too. [MQTT-1.5.3-1] [MQTT-1.5.3-3]
    ['a topic with U+0000', { topic: 'a\u0000b' }],
    ['a topic with a lone UTF-16 surrogate', { topic: 'a\ud800b' }],
    ['a topic with the control character U+0085', { topic: 'a\u0085b' }],
    ['a topic with the non-character U+FFFF', { topic: 'a\uffffb' }],
    ['a topic of 65,536 bytes', { topic: 'a'.repeat(65_536) }],
    ['a topic of 21,846 three-byte characters (65,538 bytes)', { topic: '€'.repeat(21_846) }],
    ['a non-string topic', { topic: 42 }],
    ['QoS 3', { topic: 'ok', qos: 3 }],
  ] as const) {
    test(`${what} is an error for the callback and a rejection for the promise; nothing is published`, async (t) => {
      const h = await harness(t);
      const sub = await h.subscriber({ '#': 0 });
      const events = recordEvents(h.server, ['published']);
      const bad = packet as unknown as Parameters<typeof h.server.publish>[0];
      await assert.rejects(h.server.publish(bad), Error);
      // The callback form alone must not leave an unhandled rejection behind.
      const [error, result] = await withCallback((cb) => h.server.publish(bad, cb));
      assert.ok(error instanceof Error);
      assert.equal(result, undefined);
      await flush(sub, h.server);
      assert.deepEqual(sub.messages.filter((m) => !m.topic.startsWith('$')), []);
      assert.deepEqual(events.filter((e) => !(e.args[0] as Message).topic.startsWith('$')), []);
    });
  }

  test('the published hook runs before the publisher gets its PUBACK', async (t) => {
    // Mosca's contract: PUBACK waits for the published hook's callback.
    const h = await harness(t);
    let release!: () => void;
    const hookCalled: [string, string | null][] = [];
    h.server.published = (packet, client, callback) => {
      if (!packet.topic.startsWith('$SYS/')) hookCalled.push([packet.topic, client ? client.id : null]);
      if (packet.topic === 'ph/slow') release = () => callback(null);
      else callback(null);
    };
    const raw = await h.connectRaw({ clientId: 'ph-pub' });
    raw.send({ cmd: 'publish', topic: 'ph/slow', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 3 });
    await waitFor(() => hookCalled.length === 1, 'the published hook');
    await h.server.publish({ topic: 'ph/host', payload: 'h' });
    assert.deepEqual(raw.pending('puback'), [], 'no PUBACK while the hook is pending');
    release();
    assert.equal((await raw.next('puback')).messageId, 3);
    assert.deepEqual(hookCalled, [['ph/slow', 'ph-pub'], ['ph/host', null]]);
  });
});

test('a topic with U+FFFD and a character beyond U+FFFF (a surrogate pair) is accepted [MQTT-1.5.3]', async (t) => {
  const h = await harness(t);
  const topic = 'a\ufffd/\u{1f600}';
  const sub = await h.subscriber({ [topic]: 0 });
  await h.server.publish({ topic, payload: 'ok' });
  await waitFor(() => sub.messages.some((m) => m.topic === topic), 'the message');
});

test('a topic of exactly 65,535 bytes is accepted [MQTT-4.7.3-3]', async (t) => {
  const h = await harness(t);
  const topic = '€'.repeat(21_845); // 65,535 bytes
  const sub = await h.subscriber({ '#': 0 });
  await h.server.publish({ topic, payload: 'max' });
  await waitFor(() => sub.messages.some((m) => m.topic === topic), 'the longest topic');
});

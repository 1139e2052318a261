/**
 * The in-flight window (maxInflightMessages): QoS 1/2 messages beyond it wait in the client's
 * queue and go out, in order, as acknowledgements free slots. Nothing is lost.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { harness, waitFor, type RawClient } from './helpers.js';

/** The payloads of the PUBLISH packets received and not yet taken, as strings. */
const published = (raw: RawClient) => raw.pending('publish').map((p) => p.payload.toString());

describe('in-flight window', () => {
  test('with maxInflightMessages 5 a subscriber that does not ack gets exactly 5; each PUBACK lets one more out', async (t) => {
    const h = await harness(t, { maxInflightMessages: 5 });
    const raw = await h.connectRaw();
    await raw.subscribe([{ topic: 'win', qos: 1 }]);
    const total = 12;
    for (let i = 0; i < total; i++) await h.server.publish({ topic: 'win', payload: String(i), qos: 1 });
    await raw.ping();
    assert.deepEqual(published(raw), ['0', '1', '2', '3', '4']);

    const first = await raw.next('publish');
    raw.send({ cmd: 'puback', messageId: first.messageId! });
    await waitFor(() => published(raw).length === 5, 'the 6th PUBLISH');
    await raw.ping();
    assert.deepEqual(published(raw), ['1', '2', '3', '4', '5'], 'exactly one more after one PUBACK');

    // Acknowledge everything as it arrives: all messages come through, in order, none twice.
    const received = ['0'];
    while (received.length < total) {
      const packet = await raw.next('publish');
      received.push(packet.payload.toString());
      assert.ok(raw.pending('publish').length < 5, 'never more than 5 in flight');
      raw.send({ cmd: 'puback', messageId: packet.messageId! });
    }
    assert.deepEqual(received, Array.from({ length: total }, (_, i) => String(i)));
    await raw.ping();
    assert.deepEqual(published(raw), []);
  });

  test('a QoS 2 message holds its slot until PUBCOMP, not PUBREC', async (t) => {
    // [MQTT-4.3.3-1] the message is unacknowledged until PUBCOMP.
    const h = await harness(t, { maxInflightMessages: 1 });
    const raw = await h.connectRaw();
    await raw.subscribe([{ topic: 'win2', qos: 2 }]);
    await h.server.publish({ topic: 'win2', payload: 'a', qos: 2 });
    await h.server.publish({ topic: 'win2', payload: 'b', qos: 2 });
    const a = await raw.next('publish');
    raw.send({ cmd: 'pubrec', messageId: a.messageId! });
    assert.equal((await raw.next('pubrel')).messageId, a.messageId);
    await raw.ping();
    assert.deepEqual(published(raw), [], 'b waits while a is not complete');
    raw.send({ cmd: 'pubcomp', messageId: a.messageId! });
    const b = await raw.next('publish');
    assert.equal(b.payload.toString(), 'b');
  });

  test('QoS 0 messages published behind a full window wait their turn instead of overtaking', async (t) => {
    // [MQTT-4.6.0-6] an ordered topic: messages go out in the order they were published.
    const h = await harness(t, { maxInflightMessages: 1 });
    const raw = await h.connectRaw();
    await raw.subscribe([{ topic: 'mix', qos: 1 }]);
    await h.server.publish({ topic: 'mix', payload: '1', qos: 1 });
    await h.server.publish({ topic: 'mix', payload: '2', qos: 1 });
    await h.server.publish({ topic: 'mix', payload: '3', qos: 0 });
    await raw.ping();
    assert.deepEqual(published(raw), ['1']);
    for (const expected of ['1', '2']) {
      const packet = await raw.next('publish');
      assert.equal(packet.payload.toString(), expected);
      raw.send({ cmd: 'puback', messageId: packet.messageId! });
    }
    const last = await raw.next('publish');
    assert.deepEqual([last.payload.toString(), last.qos], ['3', 0]);
  });
});

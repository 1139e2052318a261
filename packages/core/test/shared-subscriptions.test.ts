/**
 * Shared subscriptions ($share/<group>/<filter>) on one broker, for 3.1.1 and 5.0 members: each
 * message to exactly one member, ordinary subscribers beside the group, members that leave or
 * whose queue is full, and the redelivery rules of section 4.8.2.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError, Server } from '../src/index.js';
import { disconnect, flush, harness, payloads, roundTrip, waitFor, type TestClient } from './helpers.js';

/** Publishes `count` messages `<prefix>0`, `<prefix>1`, ... on `topic` from the server. */
async function publishMany(server: Server, topic: string, count: number, qos: 0 | 1 | 2, prefix = 'm'): Promise<void> {
  for (let i = 0; i < count; i++) await server.publish({ topic, payload: `${prefix}${i}`, qos });
}

/** Every payload the members got on `topic`, with how many times each. */
function tally(members: TestClient[], topic: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const member of members) for (const payload of payloads(member, topic)) counts.set(payload, (counts.get(payload) ?? 0) + 1);
  return counts;
}

describe('shared subscriptions on one broker', () => {
  for (const qos of [0, 1, 2] as const) {
    test(`QoS ${qos}: each message reaches exactly one member, in turn; an ordinary subscriber gets every one [MQTT-4.8.2-3]`, async (t) => {
      const broker = await harness(t);
      const members = [
        await broker.subscriber({ '$share/g/sh/#': 2 }),
        await broker.subscriber({ '$share/g/sh/#': 2 }, { protocolVersion: 5 }),
        await broker.subscriber({ '$share/g/sh/#': 2 }, { protocolVersion: 3, protocolId: 'MQIsdp' }),
      ];
      const ordinary = await broker.subscriber({ 'sh/#': 2 });
      await publishMany(broker.server, 'sh/x', 30, qos);
      await waitFor(() => ordinary.messages.length === 30, 'every message at the ordinary subscriber');
      for (const member of members) await flush(member, broker.server);
      const counts = tally(members, 'sh/x');
      assert.equal(counts.size, 30, 'every message reached a member');
      assert.ok([...counts.values()].every((n) => n === 1), 'no message reached two members');
      // Round robin: ten each.
      assert.deepEqual(members.map((m) => m.messages.length), [10, 10, 10]);
      assert.ok(members.every((m) => m.messages.every((msg) => msg.qos === qos)));
    });
  }

  test('two groups on one filter each get every message once; a client in both gets one copy per group', async (t) => {
    const broker = await harness(t);
    const a1 = await broker.subscriber({ '$share/a/two/+': 1 });
    const a2 = await broker.subscriber({ '$share/a/two/+': 1 });
    const both = await broker.subscriber({ '$share/b/two/+': 1, '$share/a/two/#': 1 }, { protocolVersion: 5 });
    await publishMany(broker.server, 'two/x', 12, 1);
    for (const c of [a1, a2, both]) await flush(c, broker.server);
    // `$share/a/two/+` is a1 and a2; `$share/b/two/+` and `$share/a/two/#` are two more groups, `both` alone in each.
    assert.equal(payloads(a1).length + payloads(a2).length, 12);
    assert.deepEqual([payloads(a1).length, payloads(a2).length], [6, 6]);
    assert.equal(payloads(both).length, 24);
  });

  test('the random strategy also gives each message to exactly one member; an unknown strategy is refused', async (t) => {
    const broker = await harness(t, { sharedSubscriptionStrategy: 'random' });
    const members = [await broker.subscriber({ '$share/r/rnd': 1 }), await broker.subscriber({ '$share/r/rnd': 1 })];
    await publishMany(broker.server, 'rnd', 40, 1);
    for (const member of members) await flush(member, broker.server);
    const counts = tally(members, 'rnd');
    assert.equal(counts.size, 40);
    assert.ok([...counts.values()].every((n) => n === 1));
    assert.throws(() => new Server({ port: 0, logger: false, sharedSubscriptionStrategy: 'sticky' as never }), ConfigurationError);
  });

  test('invalid shared filters are refused (0x8F, 3.1.1: 0x80); No Local on one is a Protocol Error [MQTT-4.8.2-1] [MQTT-4.8.2-2] [MQTT-3.8.3-4]', async (t) => {
    const broker = await harness(t);
    const raw5 = await broker.raw(5);
    await raw5.handshake();
    const filters = ['$share/g', '$share//x', '$share/g/', '$share/g/a/#/b'];
    raw5.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1, nl: false, rap: false, rh: 0 })) });
    assert.deepEqual((await raw5.next('suback')).granted, [0x8f, 0x8f, 0x8f, 0x8f]);
    const raw4 = await broker.raw();
    await raw4.handshake();
    assert.deepEqual(await raw4.subscribe([{ topic: '$share/g', qos: 1 }, { topic: '$share/g/ok', qos: 1 }]), [0x80, 1]);
    raw5.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: '$share/g/nl', qos: 1, nl: true, rap: false, rh: 0 }] });
    assert.equal((await raw5.next('disconnect')).reasonCode, 0x82);
  });

  test('no retained messages are sent on a shared subscription; a $CONTROL filter is refused in one too', async (t) => {
    const broker = await harness(t);
    await broker.server.publish({ topic: 'kept/x', payload: 'retained', qos: 1, retain: true });
    const member = await broker.subscriber({ '$share/g/kept/#': 1 }, { protocolVersion: 5 });
    await roundTrip(member);
    assert.deepEqual(payloads(member, 'kept/x'), []);
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/$CONTROL/#', qos: 1, nl: false, rap: false, rh: 0 }] });
    assert.deepEqual((await raw.next('suback')).granted, [0x87]);
  });

  test('a member that leaves gets no new messages; what waited for it, and its unacknowledged QoS 1 messages, go to another member', async (t) => {
    const broker = await harness(t, { maxInflightMessages: 2 });
    // A member that never acknowledges: two in flight, the rest of its share waits behind them.
    const stuck = await broker.raw();
    await stuck.handshake({ clientId: 'stuck' });
    assert.deepEqual(await stuck.subscribe([{ topic: '$share/g/leave', qos: 1 }]), [1]);
    const other = await broker.subscriber({ '$share/g/leave': 1 }, { protocolVersion: 5 });
    await publishMany(broker.server, 'leave', 10, 1);
    await waitFor(() => stuck.pending('publish').length === 2, 'two messages in flight to the stuck member');
    const seen = stuck.pending('publish').map((p) => p.payload.toString());
    await waitFor(() => other.messages.length === 5, 'the other member\'s five');
    stuck.close();
    // Its 3 waiting and 2 unacknowledged messages go to the other member: it has all ten, once each.
    await waitFor(() => other.messages.length === 10, 'the stuck member\'s messages at the other member');
    assert.deepEqual(payloads(other).sort(), Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
    assert.ok(seen.every((p) => payloads(other).includes(p)), 'the QoS 1 messages it had seen were sent again, at least once');
    await publishMany(broker.server, 'leave', 3, 1, 'after');
    await waitFor(() => other.messages.length === 13, 'the messages after it left');
  });

  test('a member whose queue is full gets no new messages while it is full; none is lost', async (t) => {
    const broker = await harness(t, { maxQueuedMessages: 3 });
    // Receive Maximum 1: one in flight, three waiting, and it is full.
    const stuck = await broker.raw(5);
    await stuck.handshake({ clientId: 'full', properties: { receiveMaximum: 1 } });
    stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/full', qos: 1, nl: false, rap: false, rh: 0 }] });
    await stuck.next('suback');
    const other = await broker.subscriber({ '$share/g/full': 1 });
    await publishMany(broker.server, 'full', 20, 1);
    // The stuck member took 1 in flight and 3 waiting, then was passed by.
    await waitFor(() => other.messages.length === 16, 'sixteen at the other member');
    await flush(other, broker.server);
    assert.equal(other.messages.length, 16);
    assert.equal(broker.server.stats.dropped, 0, 'nothing dropped');
    stuck.close();
    await waitFor(() => other.messages.length === 20, 'the full member\'s four at the other member');
    assert.equal(new Set(payloads(other)).size, 20);
  });

  test('QoS 2 in flight to a durable member that drops stays with it: completed when it reconnects, never sent to another [MQTT-4.8.2-4] [MQTT-4.8.2-5]', async (t) => {
    const broker = await harness(t);
    const durable = await broker.raw();
    await durable.handshake({ clientId: 'q2-member', clean: false });
    assert.deepEqual(await durable.subscribe([{ topic: '$share/g/q2', qos: 2 }]), [2]);
    await broker.server.publish({ topic: 'q2', payload: 'exactly-once', qos: 2 });
    const first = await durable.next('publish');
    assert.equal(first.payload.toString(), 'exactly-once');
    const other = await broker.subscriber({ '$share/g/q2': 2 });
    durable.close();
    await waitFor(() => broker.server.clients['q2-member'] === undefined, 'the durable member to be gone');
    await roundTrip(other);
    assert.deepEqual(payloads(other, 'q2'), [], 'not sent to the other member');
    const back = await broker.raw();
    const connack = await back.handshake({ clientId: 'q2-member', clean: false });
    assert.equal(connack.sessionPresent, true);
    const again = await back.next('publish');
    assert.equal(again.payload.toString(), 'exactly-once');
    assert.equal(again.dup, true);
    assert.equal(again.messageId, first.messageId);
  });

  test('QoS 2 in flight to a clean member that drops is not sent to another member: its session ended [MQTT-4.8.2-5]', async (t) => {
    const broker = await harness(t);
    const clean = await broker.raw();
    await clean.handshake({ clientId: 'q2-clean' });
    assert.deepEqual(await clean.subscribe([{ topic: '$share/g/q2c', qos: 2 }]), [2]);
    const other = await broker.subscriber({ '$share/g/q2c': 2 });
    // Round robin: the first to the raw member (never acknowledged), the second to the other.
    await publishMany(broker.server, 'q2c', 2, 2);
    assert.equal((await clean.next('publish')).payload.toString(), 'm0');
    clean.close();
    await waitFor(() => broker.server.clients['q2-clean'] === undefined, 'the clean member to be gone');
    await publishMany(broker.server, 'q2c', 1, 2, 'after');
    await waitFor(() => payloads(other).includes('after0'), 'a message after it left');
    await flush(other, broker.server);
    assert.deepEqual(payloads(other, 'q2c'), ['m1', 'after0']);
  });

  test('QoS 1 in flight to a durable member that drops goes to another member, and is not sent to it again when it returns', async (t) => {
    const broker = await harness(t);
    const durable = await broker.raw();
    await durable.handshake({ clientId: 'q1-durable', clean: false });
    assert.deepEqual(await durable.subscribe([{ topic: '$share/g/q1d', qos: 1 }]), [1]);
    await broker.server.publish({ topic: 'q1d', payload: 'in-flight', qos: 1 });
    await durable.next('publish');
    const other = await broker.subscriber({ '$share/g/q1d': 1 });
    durable.close();
    await waitFor(() => payloads(other).includes('in-flight'), 'the unacknowledged message at the other member');
    const back = await broker.raw();
    assert.equal((await back.handshake({ clientId: 'q1-durable', clean: false })).sessionPresent, true);
    await back.ping();
    assert.deepEqual(back.pending('publish'), [], 'nothing re-sent to the member that dropped');
  });

  test('with no member connected, a QoS 1 message is queued for a durable member, which gets it when it comes back and stays a member', async (t) => {
    const broker = await harness(t);
    const durable = await broker.connect({ clientId: 'offline-member', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } });
    await durable.client.subscribeAsync('$share/g/off', { qos: 1 });
    await disconnect(broker, durable);
    await publishMany(broker.server, 'off', 3, 1);
    const back = await broker.connect({ clientId: 'offline-member', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } });
    assert.equal(back.connack.sessionPresent, true);
    await waitFor(() => back.messages.length === 3, 'the queued messages');
    assert.deepEqual(payloads(back), ['m0', 'm1', 'm2']);
    // Its subscription is restored: it is a member again.
    const other = await broker.subscriber({ '$share/g/off': 1 });
    await publishMany(broker.server, 'off', 4, 1, 'n');
    await waitFor(() => payloads(back).length + payloads(other).length === 7, 'the new messages');
    assert.equal(payloads(back).filter((p) => p.startsWith('n')).length, 2);
  });

  test('a member that unsubscribes gets no new messages; an ordinary subscription of the same client stays', async (t) => {
    const broker = await harness(t);
    const member = await broker.subscriber({ '$share/g/un': 1, un: 1 }, { protocolVersion: 5 });
    const other = await broker.subscriber({ '$share/g/un': 1 });
    await member.client.unsubscribeAsync('$share/g/un');
    await publishMany(broker.server, 'un', 4, 1);
    await waitFor(() => other.messages.length === 4, 'all four at the remaining member');
    await flush(member, broker.server);
    assert.equal(member.messages.length, 4, 'one copy each, through its ordinary subscription');
  });
});

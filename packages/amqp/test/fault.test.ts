/**
 * RabbitMQ closing the adapter's connections under traffic. Two emitters on one exchange of the
 * shared RabbitMQ, each with a connection name unique to this run; `rabbitmqctl close_connection`
 * closes exactly those (never anyone else's): the publisher's after 100 confirmed messages, the
 * subscriber's after 200, while 300 QoS 1 messages are published one after the other.
 *
 * Every message whose publish() resolved (what a broker acknowledges to its client) must reach
 * the subscriber; a repeat would be a duplicate the adapter failed to recognise.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Message } from '@skynet-mqtt/core';
import { waitFor } from '@skynet-mqtt/contract-tests';
import { AmqpEmitter } from '../src/index.js';
import { AMQP_URL, closeConnectionNamed, deleteExchanges, uniqueExchange } from '@skynet-mqtt/test-support';

const exchange = uniqueExchange('fault');
const emitters: AmqpEmitter[] = [];

after(async () => {
  for (const emitter of emitters) await emitter.close();
  await deleteExchanges([exchange]);
});

function recordingLogger(lines: string[]) {
  return { warn: (m: string) => lines.push(`warn ${m}`), info: (m: string) => lines.push(`info ${m}`), error: (m: string) => lines.push(`error ${m}`) };
}

describe('AMQP emitter: connections closed by RabbitMQ (rabbitmqctl close_connection)', { timeout: 180_000 }, () => {
  it('reconnects, re-declares and resumes on both sides: every confirmed message arrives, once', { timeout: 170_000 }, async (t) => {
    const tag = `skynet-fault-${process.pid}-${Date.now()}`;
    const publisherLog: string[] = [];
    const subscriberLog: string[] = [];
    const publisher = new AmqpEmitter({ url: AMQP_URL, exchange, connectionName: `${tag}-pub`, logger: recordingLogger(publisherLog) });
    const subscriber = new AmqpEmitter({ url: AMQP_URL, exchange, connectionName: `${tag}-sub`, logger: recordingLogger(subscriberLog) });
    emitters.push(publisher, subscriber);
    await Promise.all([publisher.ready(), subscriber.ready()]);
    const received: string[] = [];
    await subscriber.subscribe('f/#', (m: Message) => received.push(m.payload.toString()));

    const confirmed: string[] = [];
    const closes: Promise<number>[] = [];
    for (let i = 0; i < 300; i++) {
      const payload = `m-${String(i).padStart(3, '0')}`;
      await publisher.publish({ id: 'test-id', topic: `f/${i % 5}`, payload: Buffer.from(payload), qos: 1, retain: false });
      confirmed.push(payload);
      if (i === 100) closes.push(closeConnectionNamed(`${tag}-pub`));
      if (i === 200) closes.push(closeConnectionNamed(`${tag}-sub`));
    }
    assert.deepEqual(await Promise.all(closes), [1, 1], 'exactly one connection of each name was closed');
    // Traffic after the closes took effect proves both sides are back.
    for (let i = 300; i < 310; i++) {
      const payload = `m-${i}`;
      await publisher.publish({ id: 'test-id', topic: 'f/after', payload: Buffer.from(payload), qos: 1, retain: false });
      confirmed.push(payload);
    }
    await waitFor(() => confirmed.every((p) => received.includes(p)), `every confirmed message; missing ${confirmed.filter((p) => !received.includes(p)).join(' ')}`, 60_000);
    assert.equal(new Set(received).size, received.length, 'a message was delivered twice');
    assert.ok(publisherLog.some((l) => l.startsWith('warn') && l.includes('connection lost')), `the publisher saw its connection close: ${publisherLog.join(' | ')}`);
    assert.ok(subscriberLog.some((l) => l.startsWith('warn') && l.includes('connection lost')), `the subscriber saw its connection close: ${subscriberLog.join(' | ')}`);
    assert.ok(subscriberLog.some((l) => l.includes('connection restored')));
    t.diagnostic(`publisher log: ${publisherLog.join(' | ')}`);
  });
});

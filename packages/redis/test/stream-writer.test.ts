/**
 * How the Emitter's stream writes and reads are cut, on the shared Redis (unique prefixes): a
 * burst is spread over the calls that may be out (MIN_SPLIT messages each at least, 1,000 at most)
 * and its entries keep the order of publishing; a reader that sends its next XREAD before handing
 * over the entries it has delivers a burst spanning many reads complete and in order.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Message } from '@skynet-mqtt/core';
import { RedisEmitter } from '../src/index.js';
import { StreamWriter } from '../src/stream-writer.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const base = `skynet-test-writer-${randomBytes(4).toString('hex')}:`;
const client = new Redis(url);

after(async () => {
  const keys = await client.keys(`${base}*`);
  if (keys.length > 0) await client.del(...keys);
  client.disconnect();
});

/** The number of messages in each STREAM_PUBLISH call `writer` makes through `client` (spied on, still sent). */
function countCalls(): { sizes: number[]; restore(): void } {
  const sizes: number[] = [];
  const call = client.call.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const spied = client as unknown as { call: (...args: unknown[]) => Promise<unknown> };
  spied.call = (...args: unknown[]) => {
    // EVAL, script, 1, stream, max length, instance id, then two arguments per message.
    if (args[0] === 'EVAL') sizes.push((args.length - 6) / 2);
    return call(...args);
  };
  return { sizes, restore: () => delete (spied as { call?: unknown }).call };
}

/** Appends `count` messages in one turn of the event loop; resolves with their entry numbers. */
function burst(writer: StreamWriter, count: number): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => writer.append(i + 1, Buffer.from(`m${i + 1}`))));
}

/** The `s` field (the writer's sequence) of every entry of the stream, in stream order. */
async function sequences(stream: string): Promise<number[]> {
  const entries = await client.xrange(stream, '-', '+');
  return entries.map(([, fields]) => Number(fields[fields.indexOf('s') + 1]));
}

describe('StreamWriter spreads a burst over its calls', () => {
  it('a burst of 600 goes out in several calls of 128 at least, its entries numbered and ordered as appended', async () => {
    const stream = `${base}a:stream`;
    const writer = new StreamWriter(client, stream, [100_000, 'writer-a']);
    const calls = countCalls();
    try {
      const numbers = await burst(writer, 600);
      assert.deepEqual(numbers, Array.from({ length: 600 }, (_, i) => i + 1));
      assert.ok(calls.sizes.length >= 2, `one call for the whole burst: ${calls.sizes.join(', ')}`);
      assert.ok(calls.sizes.every((size) => size >= 128 || size === calls.sizes.at(-1)), `calls: ${calls.sizes.join(', ')}`);
      assert.equal(calls.sizes.reduce((a, b) => a + b, 0), 600);
    } finally {
      calls.restore();
    }
    assert.deepEqual(await sequences(stream), Array.from({ length: 600 }, (_, i) => i + 1));
  });

  it('a small burst stays in one call, and a large one in calls of 1,000 at most', async () => {
    const stream = `${base}b:stream`;
    const writer = new StreamWriter(client, stream, [100_000, 'writer-b']);
    const calls = countCalls();
    try {
      await burst(writer, 100);
      assert.deepEqual(calls.sizes, [100]);
      calls.sizes.length = 0;
      await Promise.all(Array.from({ length: 6000 }, (_, i) => writer.append(101 + i, Buffer.from('x'))));
      assert.ok(calls.sizes.every((size) => size <= 1000), `calls: ${calls.sizes.join(', ')}`);
      assert.equal(calls.sizes.reduce((a, b) => a + b, 0), 6000);
    } finally {
      calls.restore();
    }
    assert.deepEqual(await sequences(stream), Array.from({ length: 6100 }, (_, i) => i + 1));
  });
});

describe('StreamReader reads ahead', () => {
  it('a QoS 0 burst spanning many reads reaches the other instance complete and in order', async () => {
    const prefix = `${base}r:`;
    const a = new RedisEmitter({ url, prefix });
    const b = new RedisEmitter({ url, prefix });
    try {
      const received: string[] = [];
      await b.subscribe('burst/#', (message) => void received.push(message.payload.toString()));
      await a.subscribe('nothing', () => undefined);
      const count = 5000;
      const sent: string[] = [];
      const published: Promise<number>[] = [];
      for (let i = 0; i < count; i++) {
        const message: Message = { id: `id${i}`, topic: `burst/${i % 3}`, payload: Buffer.from(String(i)), qos: 0, retain: false };
        sent.push(String(i));
        published.push(a.publish(message));
      }
      await Promise.all(published);
      await b.sync();
      assert.deepEqual(received, sent);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

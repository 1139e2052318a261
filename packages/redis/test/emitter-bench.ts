import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { Message } from '@skynet-mqtt/core';
import { RedisEmitter } from '../src/index.js';
import { deleteKeysUnder } from './helpers.js';

/**
 * Not a test (not named *.test.ts): measures the Emitter between two instances on REDIS_URL,
 * under a prefix of its own that it deletes at the end. Run after building:
 *   node packages/redis/dist/test/emitter-bench.js
 * Figures are in docs/backends/redis.md.
 */
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench:${process.pid}:${Date.now()}:`;
const COUNT = Number(process.env.COUNT ?? 10_000);
const payload = Buffer.alloc(64, 7);
const msg = (i: number): Message => ({ id: `bench-${i}`, topic: `bench/${i % 10}`, payload: Buffer.concat([payload, Buffer.from(String(i))]), qos: 1, retain: false });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function main(): Promise<void> {
  const a = new RedisEmitter({ url, prefix });
  const b = new RedisEmitter({ url, prefix });
  let received = 0;
  let onReceive: (() => void) | null = null;
  await b.subscribe('bench/#', () => {
    received++;
    onReceive?.();
  });
  await a.subscribe('bench/#', () => {});

  // Warm-up: connections and code paths.
  for (let i = 0; i < 200; i++) await a.publish(msg(i));
  while (received < 200) await new Promise((r) => setTimeout(r, 5));

  // Throughput: every publish issued at once (pipelined), until B has them all.
  received = 0;
  let start = performance.now();
  const done = new Promise<void>((resolve) => (onReceive = () => received === COUNT && resolve()));
  await Promise.all(Array.from({ length: COUNT }, (_, i) => a.publish(msg(i))));
  const acked = performance.now() - start;
  await done;
  const delivered = performance.now() - start;
  console.log(`throughput: ${COUNT} messages, all acked in ${acked.toFixed(0)} ms, all delivered to B in ${delivered.toFixed(0)} ms = ${Math.round((COUNT / delivered) * 1000)} msg/s`);

  // Latency: one at a time, publish() call to delivery on B, and to publish() resolving.
  const toB: number[] = [];
  const toAck: number[] = [];
  const n = Math.min(COUNT, 2_000);
  for (let i = 0; i < n; i++) {
    received = 0;
    start = performance.now();
    const got = new Promise<void>((resolve) => (onReceive = resolve));
    await a.publish(msg(i));
    toAck.push(performance.now() - start);
    await got;
    toB.push(performance.now() - start);
  }
  toB.sort((x, y) => x - y);
  toAck.sort((x, y) => x - y);
  const f = (v: number): string => `${(v * 1000).toFixed(0)} µs`;
  console.log(`latency, ${n} sequential: publish→ack p50 ${f(percentile(toAck, 50))} p99 ${f(percentile(toAck, 99))}; publish→B p50 ${f(percentile(toB, 50))} p99 ${f(percentile(toB, 99))}`);

  await a.close();
  await b.close();
  const redis = new Redis(url);
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
}

await main();

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import type { Message } from '@skynet-mqtt/core';
import { sleep, waitFor } from '@skynet-mqtt/contract-tests';
import { freePort, killRedisServers, startPrivateRedis, type PrivateRedis } from '@skynet-mqtt/test-support';
import { RedisEmitter } from '../src/index.js';
import { recordingLogger, track } from './helpers.js';

/**
 * The stream Emitter under faults, on a PRIVATE redis-server: killed with SIGKILL in the middle
 * of QoS 1 traffic (every acknowledged message must still reach the other instance), and one
 * instance cut off long enough for the stream to be trimmed past it (the loss must be reported).
 */
const DURABLE = ['--appendonly', 'yes', '--appendfsync', 'always'];

let made = 0;
const msg = (topic: string, text: string): Message => ({ id: `msg-${made++}`, topic, payload: Buffer.from(text), qos: 1, retain: false });
const numbers = (received: Message[]): number[] => received.filter((m) => m.topic.startsWith('n/')).map((m) => Number(m.payload.toString()));

/** A TCP relay to Redis that can hold traffic in both directions: one instance cut off alone. */
async function pausableProxy(target: number): Promise<{ port: number; pause(): void; resume(): void; close(): Promise<void> }> {
  let paused = false;
  const held: [Socket, Buffer][] = [];
  const sockets: Socket[] = [];
  const relay = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => (paused ? held.push([to, chunk]) : to.write(chunk)));
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.push(client, upstream);
    relay(client, upstream);
    relay(upstream, client);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    pause: () => (paused = true),
    resume: () => {
      paused = false;
      for (const [to, chunk] of held.splice(0)) to.write(chunk);
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('Redis stream emitter under faults (private redis-server)', () => {
  let port = 0;
  let redis: PrivateRedis | null = null;
  const emitters: RedisEmitter[] = [];

  before(async () => {
    redis = await startPrivateRedis({ args: DURABLE });
    port = redis.port;
  });

  after(async () => {
    for (const emitter of emitters) await emitter.close();
    if (redis) await redis.kill('SIGTERM');
    await killRedisServers();
  });

  test('SIGKILL mid QoS 1 traffic: every acknowledged message reaches the other instance; local delivery continues', async (t) => {
    const N = 1_500;
    const logA = recordingLogger();
    const a = new RedisEmitter({ host: '127.0.0.1', port, prefix: 'kill:', logger: logA });
    const b = new RedisEmitter({ host: '127.0.0.1', port, prefix: 'kill:' });
    emitters.push(a, b);
    const onA: Message[] = [];
    const onB: Message[] = [];
    await a.subscribe('n/#', (m) => onA.push(m));
    await b.subscribe('n/#', (m) => onB.push(m));
    await b.subscribe('d/#', (m) => onB.push(m));

    // A publishes 1..N in sequence, as a broker acknowledging QoS 1 PUBLISHes one by one would.
    const acked: number[] = [];
    const publishing = (async () => {
      for (let i = 1; i <= N; i++) {
        await a.publish(msg(`n/${i % 5}`, String(i)));
        acked.push(i);
      }
    })();

    await waitFor(() => acked.length >= 400, '400 acknowledged messages');
    await redis!.kill('SIGKILL');
    const ackedAtKill = acked.length;
    await waitFor(() => a.state === 'down', 'A to see the outage');

    // During the outage: nothing more is acknowledged, but A's own handlers still get messages,
    // at once, including the one its sequential publisher is waiting on.
    const during = Array.from({ length: 20 }, (_, k) => track(a.publish(msg('d/x', `during${k}`))));
    const onADuring: Message[] = [];
    await a.subscribe('d/#', (m) => onADuring.push(m));
    const more = track(a.publish(msg('d/y', 'during-after-subscribe')));
    assert.equal(onADuring.length, 1, 'local delivery is synchronous, even with Redis down');
    await sleep(1_000);
    assert.equal(acked.length, ackedAtKill, 'a publish() resolved while Redis was down');
    assert.ok(during.every((c) => !c.settled()) && !more.settled());
    assert.deepEqual(numbers(onA), Array.from({ length: ackedAtKill + 1 }, (_, i) => i + 1), 'A delivered the message it is waiting on');

    redis = await redis!.restart();
    await publishing;
    await waitFor(() => during.every((c) => c.settled()) && more.settled(), 'the outage publishes to complete', 15_000);
    for (const call of [...during, more]) assert.equal(call.rejected(), null);

    // Every acknowledged message reached B, at least once and in A's order; count duplicates.
    await waitFor(() => new Set(numbers(onB)).size === N, `all ${N} messages on B`, 15_000);
    const seen = numbers(onB);
    const duplicates = seen.length - new Set(seen).size;
    t.diagnostic(`killed after ${ackedAtKill} acknowledged; B received ${seen.length} for ${N} sent, ${duplicates} duplicate(s)`);
    assert.deepEqual([...new Set(seen)], Array.from({ length: N }, (_, i) => i + 1));
    await waitFor(() => onB.filter((m) => m.topic.startsWith('d/')).length === 21, 'the outage messages on B');
    // Local handlers: each message exactly once, in order.
    assert.deepEqual(numbers(onA), Array.from({ length: N }, (_, i) => i + 1));

    assert.deepEqual(logA.lines.map((l) => /^(warn|info|error) .*Redis connection (lost|restored)/.exec(l)?.slice(1).join(' ') ?? l), ['warn lost', 'warn restored']);
  });

  test('an instance cut off while the stream is trimmed past it reports how many messages it missed', async () => {
    const proxy = await pausableProxy(port);
    const logB = recordingLogger();
    const a = new RedisEmitter({ host: '127.0.0.1', port, prefix: 'trim:', maxStreamLength: 100 });
    const b = new RedisEmitter({ host: '127.0.0.1', port: proxy.port, prefix: 'trim:', logger: logB });
    try {
      const onB: Message[] = [];
      await b.subscribe('n/#', (m) => onB.push(m));

      proxy.pause();
      const total = 2_000;
      await Promise.all(Array.from({ length: total }, (_, i) => a.publish(msg('n/t', String(i + 1)))));
      proxy.resume();

      const missed = (): number =>
        logB.lines.reduce((sum, line) => sum + Number(/^warn Redis emitter: (\d+) message\(s\) were trimmed/.exec(line)?.[1] ?? 0), 0);
      await waitFor(() => numbers(onB).includes(total), 'the last message on B');
      assert.ok(missed() > 0, 'the trimmed messages were not reported');
      assert.equal(onB.length + missed(), total, `received ${onB.length}, reported missing ${missed()}`);
      const got = numbers(onB);
      assert.deepEqual(got, [...got].sort((x, y) => x - y), 'order kept');
    } finally {
      await b.close();
      await a.close();
      await proxy.close();
    }
  });
});

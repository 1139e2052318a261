import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '@skynet-mqtt/core';
import { takeQueue, waitFor } from '@skynet-mqtt/contract-tests';
import { killRedisServers, startPrivateRedis, type PrivateRedis } from '@skynet-mqtt/test-support';
import { RedisEmitter, RedisStore } from '../src/index.js';
import { recordingLogger, track } from './helpers.js';

/**
 * Kills a PRIVATE redis-server (never the shared one) under a Store and an Emitter, and checks
 * that calls made during the outage wait instead of failing, complete after a restart, and that
 * nothing acknowledged before the kill is lost. appendfsync always makes an acknowledged write
 * durable, so SIGKILL loses nothing Redis confirmed.
 */
const DURABLE = ['--appendonly', 'yes', '--appendfsync', 'always'];

let made = 0;
const msg = (topic: string, text: string): Message => ({ id: `msg-${made++}`, topic, payload: Buffer.from(text), qos: 1, retain: false });

describe('Redis outage (private redis-server killed with SIGKILL)', () => {
  let port = 0;
  let redis: PrivateRedis | null = null;
  let store: RedisStore | null = null;
  let emitter: RedisEmitter | null = null;

  before(async () => {
    redis = await startPrivateRedis({ args: DURABLE });
    port = redis.port;
  });

  after(async () => {
    await store?.close();
    await emitter?.close();
    if (redis) await redis.kill('SIGTERM');
    await killRedisServers();
  });

  test('calls made while Redis is down wait, complete after a restart, and nothing acknowledged is lost', async () => {
    const storeLog = recordingLogger();
    store = new RedisStore({ host: '127.0.0.1', port, prefix: 'fault:', logger: storeLog });
    const emitterLog = recordingLogger();
    emitter = new RedisEmitter({ host: '127.0.0.1', port, prefix: 'fault:', logger: emitterLog });
    const received: Message[] = [];
    await emitter.subscribe('f/#', (m) => received.push(m));

    // Acknowledged before the crash.
    await store.addSubscriptions('c', [{ topic: 'f/+', qos: 1 }]);
    for (let i = 0; i < 50; i++) await store.enqueue('c', msg('f/q', `before${i}`));
    await store.putOutgoing('c', { ...msg('f/o', 'inflight'), messageId: 1 });
    await store.storeRetained({ ...msg('f/r', 'retained'), retain: true });
    assert.equal(store.state, 'ready');

    await redis!.kill('SIGKILL');
    await waitFor(() => store!.state === 'down' && emitter!.state === 'down', 'both adapters to see the outage');

    // Made during the outage: they must neither resolve nor reject while Redis is away.
    const during = [
      track(store.enqueue('c', msg('f/q', 'during'))),
      track(store.storeRetained({ ...msg('f/r2', 'during'), retain: true })),
      track(store.addSubscriptions('d', [{ topic: 'f/#', qos: 2 }])),
      track(store.getSession('c')),
      track(emitter.publish(msg('f/lost-or-late', 'during'))),
    ];
    await new Promise((r) => setTimeout(r, 800));
    for (const call of during) {
      assert.equal(call.rejected(), null, `a call failed during the outage: ${String(call.rejected())}`);
      assert.equal(call.settled(), false, 'a call completed while Redis was down');
    }

    redis = await redis!.restart();
    await waitFor(() => during.every((call) => call.settled()), 'the calls made during the outage to complete', 15_000);
    for (const call of during) assert.equal(call.rejected(), null);
    assert.deepEqual(await during[3]!.promise, [{ topic: 'f/+', qos: 1 }]);

    // Nothing acknowledged is lost, the outage's writes are there too.
    const queued = await takeQueue(store, 'c');
    assert.deepEqual(
      queued.map((m) => m.payload.toString()),
      [...Array.from({ length: 50 }, (_, i) => `before${i}`), 'during'],
    );
    assert.deepEqual((await store.getOutgoing('c')).map((p) => p.messageId), [1]);
    assert.deepEqual((await store.matchRetained(['f/#'])).map((m) => m.topic).sort(), ['f/r', 'f/r2']);
    assert.deepEqual((await store.subscriptionsByTopic('f/x')).map((s) => s.clientId).sort(), ['c', 'd']);

    // The message published during the outage went to the local handler at once.
    assert.ok(received.some((m) => m.topic === 'f/lost-or-late'));
    await waitFor(() => emitter!.state === 'ready', 'the emitter to reconnect', 15_000);
    await emitter.publish(msg('f/after', 'after'));
    assert.ok(received.some((m) => m.topic === 'f/after'));

    // One warning when the outage starts, one when it ends: not one per call, attempt or
    // connection (the emitter has two).
    for (const log of [storeLog, emitterLog]) {
      assert.deepEqual(log.lines.map((l) => /^(warn|info|error) .*Redis connection (lost|restored)/.exec(l)?.slice(1).join(' ') ?? l), ['warn lost', 'warn restored']);
    }
  });
});

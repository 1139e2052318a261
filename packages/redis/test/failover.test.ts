import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { sleep } from '@skynet-mqtt/contract-tests';
import type { Message } from '@skynet-mqtt/core';
import { RedisEmitter, RedisStore } from '../src/index.js';
import { shardOf } from '../src/shards.js';
import { deleteKeysUnder, recordingLogger } from './helpers.js';

/**
 * Store.claimDeadInstances on Redis: the duties of an instance that stopped renewing its liveness
 * key go to one survivor only. A crash is played by closing a Store (its liveness key goes, what it
 * owned stays), or by deleting the key of one whose timer is stopped. Shared Redis, keys under this
 * run's own prefix only.
 */
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const base = `test:failover:${process.pid}:${Date.now()}:`;
let count = 0;
const raw = new Redis(url);
const open: { close(): Promise<void> }[] = [];
/** The smallest liveness ttl: survivors may claim 300 ms after they connected. */
const TTL = 300;

function prefix(): string {
  return `${base}${++count}:`;
}

function store(p: string, instanceId?: string): RedisStore {
  const made = new RedisStore({ url, prefix: p, livenessTtl: TTL }, instanceId === undefined ? undefined : { instanceId });
  open.push(made);
  return made;
}

/** Once `stores` have been connected for the whole liveness ttl: from then on they may claim. */
async function claimable(...stores: RedisStore[]): Promise<void> {
  await Promise.all(stores.map((made) => made.ping()));
  await sleep(TTL + 50);
}

function message(id: string, topic: string, qos: 0 | 1 | 2 = 1): Message {
  return { id, topic, payload: Buffer.from(id), qos, retain: false };
}

afterEach(async () => {
  for (const made of open.splice(0)) await made.close();
});

after(async () => {
  await deleteKeysUnder(raw, base);
  await raw.quit();
});

describe('RedisStore.claimDeadInstances', () => {
  test('a store connected for less than the liveness ttl claims nothing: after a Redis restart, the others may not have renewed yet', async () => {
    const p = prefix();
    const dead = store(p);
    await dead.addSubscriptions('c', [{ topic: 'f/+', qos: 1 }]);
    await dead.setConnected('c', true);
    await dead.close();
    const fresh = store(p);
    await fresh.ping();
    assert.deepEqual((await fresh.claimDeadInstances()).instances, []);
    await sleep(TTL + 50);
    assert.deepEqual((await fresh.claimDeadInstances()).instances, [dead.instanceId]);
  });

  test("a dead instance's sessions go offline, its wills are published once, its unfinished stream entries are returned", async () => {
    const p = prefix();
    const a = store(p, 'instance-a');
    await a.addSubscriptions('c', [{ topic: 'f/+', qos: 1 }]);
    await a.setConnected('c', true);
    await a.addSubscriptions('gone-early', [{ topic: 'f/+', qos: 1 }]);
    await a.setConnected('gone-early', true);
    await a.setConnected('gone-early', false); // ended its connection cleanly: not A's any more
    await a.putWill('c', { topic: 'will/c', payload: Buffer.from('bye'), qos: 1, retain: false });
    // A's Emitter (same instance id) read up to here and had stored everything before it.
    const emitterA = new RedisEmitter({ url, prefix: p }, { instanceId: 'instance-a' });
    open.push(emitterA);
    await emitterA.subscribe('#', () => undefined);
    const publisher = new RedisEmitter({ url, prefix: p });
    open.push(publisher);
    assert.ok(await raw.exists(`${p}stream:pos:instance-a`), 'the read position is recorded from the start');
    // A dies: its Emitter's timers and its Store's renewals stop (played by closing a copy of the
    // position first, as close() deletes it), and its alive key goes.
    const position = await raw.get(`${p}stream:pos:instance-a`);
    await emitterA.close();
    await raw.set(`${p}stream:pos:instance-a`, position!);
    await a.close();
    await publisher.publish(message('m1', 'f/1'));
    await publisher.publish(message('m2', 'f/2', 2));

    const b = store(p);
    const c = store(p);
    await claimable(b, c);
    // Two survivors look at the same instant: each duty goes to one of them.
    const [byB, byC] = await Promise.all([b.claimDeadInstances(), c.claimDeadInstances()]);
    const claims = [byB, byC].filter((claim) => claim.instances.length > 0);
    assert.equal(claims.length, 1, 'one survivor claims the dead instance');
    const claim = claims[0]!;
    assert.deepEqual(claim.instances, ['instance-a']);
    assert.deepEqual(claim.sessions, ['c']);
    assert.deepEqual(claim.wills.map((w) => [w.clientId, w.will.topic, w.will.payload.toString()]), [['c', 'will/c', 'bye']]);
    assert.deepEqual(claim.unfinished.map(({ message: m, sessions }) => [m.id, m.topic, m.qos, [...sessions]]), [['m1', 'f/1', 1, ['c']], ['m2', 'f/2', 2, ['c']]]);
    assert.equal(await raw.hget(`${p}session:c`, 'connected'), '0', 'marked offline');
    assert.ok((await raw.pttl(`${p}session:c`)) > 0, 'an offline session expires');
    assert.deepEqual((await b.subscriptionsByTopic('f/x')).map((s) => [s.clientId, s.connected]).sort(), [['c', false], ['gone-early', false]]);
    const again = await Promise.all([b.claimDeadInstances(), c.claimDeadInstances()]);
    assert.deepEqual(again.map((x) => [x.instances, x.wills, x.sessions, x.unfinished]), [[[], [], [], []], [[], [], [], []]], 'claimed once');
  });

  test('a delayed will waits for its delay after the instance is found dead, and then goes once', async () => {
    const p = prefix();
    const a = store(p);
    await a.putWill('slow', { topic: 'will/slow', payload: Buffer.from('later'), qos: 0, retain: false, delayMs: 2000 });
    // A delayed will whose connection already ended: due at its own time.
    await a.putWill('ended', { topic: 'will/ended', payload: Buffer.from('due'), qos: 0, retain: false, delayUntil: Date.now() + 1500 });
    await a.close();
    const b = store(p);
    await claimable(b);
    const first = await b.claimDeadInstances();
    assert.deepEqual(first.wills, [], 'neither is due yet');
    await sleep(1300);
    assert.deepEqual((await b.claimDeadInstances()).wills.map((w) => w.clientId), ['ended']);
    await sleep(1000);
    assert.deepEqual((await b.claimDeadInstances()).wills.map((w) => w.clientId), ['slow']);
    assert.deepEqual((await b.claimDeadInstances()).wills, []);
    assert.equal(await raw.sismember(`${p}instances`, a.instanceId), 0, 'an instance with nothing left is forgotten');
  });

  test("deleteWill(id, true) deletes a delayed will, not a newer connection's", async () => {
    const s = store(prefix());
    await s.putWill('w', { topic: 'will/w', payload: Buffer.from('new'), qos: 0, retain: false });
    await s.deleteWill('w', true);
    assert.notEqual(await s.getWill('w'), null);
    await s.putWill('w', { topic: 'will/w', payload: Buffer.from('old'), qos: 0, retain: false, delayUntil: Date.now() + 1000 });
    await s.deleteWill('w', true);
    assert.equal(await s.getWill('w'), null);
  });

  test('a message a session had in flight is not queued for it again (redone by a survivor, or queued by a late publisher)', async () => {
    const s = store(prefix());
    await s.addSubscriptions('c', [{ topic: 'q/#', qos: 2 }]);
    await s.putOutgoing('c', { ...message('sent-1', 'q/1', 2), messageId: 7 });
    await s.removeOutgoing('c', 7); // delivered: PUBCOMP
    assert.deepEqual(await s.enqueue('c', message('sent-1', 'q/1', 2)), { connected: false, dropped: 0 });
    assert.deepEqual(await s.peekQueue('c', 10), [], 'not queued');
    await s.enqueue('c', message('other', 'q/1', 2));
    assert.deepEqual((await s.peekQueue('c', 10)).map((q) => q.id), ['other']);
  });

  test('an instance taken for dead says so once in its log when it renews its key again', async () => {
    const p = prefix();
    const logger = recordingLogger();
    // Renewed every second: its key, deleted below, stays gone while the survivor looks.
    const slow = new RedisStore({ url, prefix: p, livenessTtl: 3000, logger });
    open.push(slow);
    await slow.addSubscriptions('c', [{ topic: 's/+', qos: 1 }]);
    await slow.setConnected('c', true);
    const b = store(p);
    await claimable(b);
    await raw.del(`${p}alive:${slow.instanceId}`); // as if it had paused for longer than the ttl
    assert.deepEqual((await b.claimDeadInstances()).sessions, ['c']);
    await sleep(1200);
    assert.equal(logger.lines.filter((line) => line.includes('another instance took over its duties')).length, 1, logger.lines.join('\n'));
  });
});

describe('RedisStore.claimDeadInstances with shards: 3', () => {
  const shards = 3;
  /** The key prefix of shard i (shards.ts, not on Cluster). */
  const shardKey = (p: string, i: number, key: string): string => `${p}shard${i}of${shards}:${key}`;
  /** A client id in shard i. */
  const inShard = (i: number, name: string): string => {
    for (let k = 0; ; k++) if (shardOf(`${name}-${k}`, shards) === i) return `${name}-${k}`;
  };
  const sharded = (p: string, instanceId?: string): RedisStore => {
    const made = new RedisStore({ url, prefix: p, livenessTtl: TTL, shards }, instanceId === undefined ? undefined : { instanceId });
    open.push(made);
    return made;
  };
  const emitter = (p: string, instanceId?: string): RedisEmitter => {
    const made = new RedisEmitter({ url, prefix: p, shards }, instanceId === undefined ? undefined : { instanceId });
    open.push(made);
    return made;
  };

  test("one survivor gets every shard's sessions of a dead instance and the entries of every stream each may lack", async () => {
    const p = prefix();
    const a = sharded(p, 'instance-a');
    const sessions = [0, 1, 2].map((i) => inShard(i, 'c'));
    const back = inShard(1, 'back');
    for (const id of [...sessions, back]) {
      await a.addSubscriptions(id, [{ topic: 'f/+', qos: 1 }]);
      await a.setConnected(id, true);
    }
    await a.putWill(sessions[2]!, { topic: 'will/c', payload: Buffer.from('bye'), qos: 1, retain: false });
    const emitterA = emitter(p, 'instance-a');
    await emitterA.subscribe('#', () => undefined);
    const publisher = emitter(p);
    await publisher.subscribe('#', () => undefined);
    // A dies: its read position in each stream stays as it was (close() would delete them).
    const positions = await Promise.all([0, 1, 2].map((i) => raw.get(shardKey(p, i, 'stream:pos:instance-a'))));
    assert.ok(positions.every((position) => position !== null), 'a read position per stream');
    await emitterA.close();
    await Promise.all(positions.map((position, i) => raw.set(shardKey(p, i, 'stream:pos:instance-a'), position!)));
    await a.close();
    // One message on each stream, then `back` connects again through B, then one more.
    for (const i of [0, 1, 2]) await publisher.publish(message(`m${i}`, `f/${i}`), inShard(i, 'publisher'));
    const b = sharded(p, 'instance-b');
    const c = sharded(p);
    await b.setConnected(back, true);
    await publisher.publish(message('late', 'f/late'), inShard(0, 'publisher'));

    await claimable(b, c);
    const [byB, byC] = await Promise.all([b.claimDeadInstances(), c.claimDeadInstances()]);
    const claims = [byB, byC].filter((claim) => claim.instances.length > 0);
    assert.equal(claims.length, 1, 'one survivor claims the dead instance, on every shard');
    const claim = claims[0]!;
    assert.deepEqual(claim.instances, ['instance-a']);
    assert.deepEqual([...claim.sessions].sort(), [...sessions, back].sort());
    assert.deepEqual(claim.wills.map((w) => w.clientId), [sessions[2]]);
    const unfinished = new Map(claim.unfinished.map(({ message: m, sessions: s }) => [m.id, [...s].sort()]));
    for (const id of ['m0', 'm1', 'm2']) assert.deepEqual(unfinished.get(id), [...sessions, back].sort(), `${id} goes to every session`);
    assert.deepEqual(unfinished.get('late'), [...sessions].sort(), 'not to the session connected again before it was published');
    for (const [i, id] of sessions.entries()) assert.equal(await raw.hget(shardKey(p, i, `session:${id}`), 'connected'), '0', 'marked offline');
    assert.equal(await raw.hget(shardKey(p, 1, `session:${back}`), 'connected'), 'instance-b');
    const again = await Promise.all([b.claimDeadInstances(), c.claimDeadInstances()]);
    assert.deepEqual(again.map((x) => [x.instances, x.sessions, x.unfinished]), [[[], [], []], [[], [], []]], 'claimed once');
  });

  test("connectedSince is given in terms of the message's stream", async () => {
    const p = prefix();
    const s = sharded(p);
    const publisher = emitter(p);
    await publisher.subscribe('#', () => undefined);
    const before = await Promise.all([0, 1, 2].map((i) => publisher.publish(message(`b${i}`, 't/1'), inShard(i, 'pub'))));
    const id = inShard(2, 'session');
    await s.addSubscriptions(id, [{ topic: 't/+', qos: 1 }]);
    await s.setConnected(id, true);
    const after = await Promise.all([0, 1, 2].map((i) => publisher.publish(message(`a${i}`, 't/1'), inShard(i, 'pub'))));
    for (const position of before) {
      const [found] = await s.subscriptionsByTopic('t/1', position);
      assert.ok(found!.connectedSince !== undefined && position <= found!.connectedSince, `published before: ${position} <= ${found!.connectedSince}`);
    }
    for (const position of after) {
      const [found] = await s.subscriptionsByTopic('t/1', position);
      assert.ok(found!.connectedSince !== undefined && position > found!.connectedSince, `published after: ${position} > ${found!.connectedSince}`);
    }
  });
});

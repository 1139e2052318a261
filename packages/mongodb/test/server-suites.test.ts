/**
 * The suites that need a MongoDB server: the Store and Emitter contracts, the liveness of
 * sessions and an outage-free smoke of the retry loop against a real server. They run wherever
 * MONGO_URL is set (test-integration/docker-compose.yml provides one) and fail if it is set and
 * unreachable. Without it they register nothing and print one line saying so: no MongoDB server
 * can be installed on the machine these tests were written on.
 *
 * Each run uses a database of its own (`skynet_test_<pid>_<time>`), dropped at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import type { Emitter } from '@skynet-mqtt/core';
import { emitterContract, message, storeContract } from '@skynet-mqtt/contract-tests';
import { mongoPlan, servicePlan } from '@skynet-mqtt/test-support';
import { MongoEmitter, MongoStore, withDatabase } from '../src/index.js';

test('the MongoDB server suites run exactly where MONGO_URL is set, and say so where not', () => {
  assert.deepEqual(servicePlan('X', 'MONGO_URL', 'mongodb://db:27017/ ', 'h'), { run: true, url: 'mongodb://db:27017/' });
  for (const unset of [undefined, '', ' ']) {
    assert.deepEqual(servicePlan('MongoDB suites', 'MONGO_URL', unset, 'why'), { run: false, reason: 'MongoDB suites did not run: MONGO_URL is not set (why)' });
  }
});

const plan = mongoPlan('MongoDB server suites (Store contract, Emitter contract, liveness)');
if (!plan.run) console.log(plan.reason);
else registerServerSuites(plan.url);

function registerServerSuites(base: string): void {
  const database = `skynet_test_${process.pid}_${Date.now()}`;
  const url = withDatabase(base, database);

  before(async () => {
    // Set and unreachable must fail, not wait forever as the adapter does in production.
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
    try {
      await client.db().command({ ping: 1 });
    } finally {
      await client.close();
    }
  });

  after(async () => {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
    try {
      await client.db().dropDatabase();
    } finally {
      await client.close();
    }
  });

  let stores = 0;
  let latest = '';
  const fresh = (): string => (latest = `s${++stores}.`);
  storeContract('mongodb', async () => new MongoStore({ url, prefix: fresh() }), {
    reopen: async () => new MongoStore({ url, prefix: latest }),
    ttlStore: async (ttl) => new MongoStore({ url, prefix: fresh(), ttl }),
    maxQueuedStore: async (max) => new MongoStore({ url, prefix: fresh(), maxQueuedMessages: max }),
  });

  // Emitters made while others are open are instances of one broker: they share the collection.
  let buses = 0;
  let open = 0;
  let collection = '';
  emitterContract('mongodb', async (): Promise<Emitter> => {
    if (open === 0) collection = `pubsub${++buses}`;
    open++;
    const emitter = new MongoEmitter({ url, pubsubCollection: collection });
    const close = emitter.close.bind(emitter);
    let closed = false;
    emitter.close = async () => {
      if (!closed) open--;
      closed = true;
      await close();
    };
    return emitter;
  });

  describe('MongoDB: liveness and the capped collection', { timeout: 60_000 }, () => {
    test("a session connected through a closed Store's instance counts as disconnected", async () => {
      const prefix = fresh();
      const a = new MongoStore({ url, prefix });
      const b = new MongoStore({ url, prefix });
      try {
        await a.addSubscriptions('live', [{ topic: 'l/+', qos: 1 }]);
        await a.setConnected('live', true);
        assert.deepEqual((await b.subscriptionsByTopic('l/1')).map((s) => s.connected), [true]);
        await a.close();
        assert.deepEqual((await b.subscriptionsByTopic('l/1')).map((s) => s.connected), [false], 'its owner is gone: publishers queue for it again');
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('a reader that fell behind the cap reports how many messages it missed', async () => {
      const logged: string[] = [];
      const logger = { warn: (m: string) => logged.push(m), info() {}, error() {} };
      const name = `small${++buses}`;
      const a = new MongoEmitter({ url, pubsubCollection: name, size: 16 * 1024 * 1024, max: 1_000 });
      const b = new MongoEmitter({ url, pubsubCollection: name, size: 16 * 1024 * 1024, max: 1_000, logger });
      try {
        const received: string[] = [];
        await b.subscribe('#', (m) => void received.push(m.payload.toString()));
        await a.subscribe('#', () => undefined);
        await Promise.all(Array.from({ length: 5_000 }, (_, i) => a.publish(message('burst', String(i), 1))));
        await b.sync();
        const missed = logged.map((l) => Number(/(\d+) message\(s\)/.exec(l)?.[1] ?? 0)).reduce((x, y) => x + y, 0);
        assert.equal(new Set(received).size + missed, 5_000, `received ${received.length}, reported missed ${missed}`);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}

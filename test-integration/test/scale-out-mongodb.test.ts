/**
 * Scale-out on MongoDB: the three-instance suite (helpers/cluster-suite.ts) with the MongoDB
 * Emitter and Store, in a database unique to the run (dropped at the end). It runs wherever
 * MONGO_URL is set (test-integration/docker-compose.yml provides a server) and fails if it is set
 * and unreachable; without it, it registers nothing and prints one line saying so.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MongoClient } from 'mongodb';
import { resolveEmitterOptions, resolveStoreOptions, withDatabase } from '@skynet-mqtt/mongodb';
import { mongoPlan } from '@skynet-mqtt/test-support';
import { threeInstanceSuite } from './helpers/cluster-suite.js';

let deployments = 0;
const databases: string[] = [];

/** The options of the instances of one deployment: one database, shared by its instances only. */
function deployment(base: string, count: number): Record<string, unknown>[] {
  const database = `skynet_it_${process.pid}_${Date.now()}_${++deployments}`;
  databases.push(database);
  const url = withDatabase(base, database);
  return Array.from({ length: count }, () => ({ backend: { type: 'mongodb', url }, persistence: { factory: 'mongodb', url } }));
}

test('the MongoDB deployment of the three-instance suite is one valid database per deployment', () => {
  const [first] = deployment('mongodb://db.example:27017/ignored?w=majority', 1) as [{ backend: Record<string, unknown>; persistence: Record<string, unknown> }];
  const { type: _type, ...backend } = first.backend;
  const { factory: _factory, ...persistence } = first.persistence;
  const emitter = resolveEmitterOptions(backend);
  assert.equal(resolveStoreOptions(persistence).database, emitter.database);
  assert.match(emitter.database, /^skynet_it_\d+_\d+_\d+$/);
  assert.match(emitter.url, /^mongodb:\/\/db\.example:27017\/skynet_it_\d+_\d+_\d+\?w=majority$/);
  databases.pop();
});

const plan = mongoPlan('MongoDB three-instance suite');
if (!plan.run) console.log(plan.reason);
else {
  const url = plan.url;
  threeInstanceSuite('MongoDB', {
    async deploy(count) {
      return deployment(url, count);
    },
    async cleanUp() {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
      try {
        for (const database of databases) await client.db(database).dropDatabase();
      } finally {
        await client.close();
      }
    },
  });
}

/**
 * The three-instance suite on ZeroMQ: a mesh of three instances on free loopback ports (each
 * lists the other two), the Store Redis (`REDIS_URL`) under a key prefix of its own, deleted at
 * the end. Delivery between instances is at most once on ZeroMQ; on loopback nothing is dropped,
 * and durable sessions hold through the Store.
 */
import { freePort } from '@skynet-mqtt/test-support';
import { threeInstanceSuite } from './helpers/cluster-suite.js';
import { deletePrefix, REDIS_URL, redisBackend, uniquePrefix } from './helpers/redis.js';

const prefixes: string[] = [];

threeInstanceSuite('ZeroMQ, Redis Store', {
  async deploy(count) {
    const prefix = uniquePrefix('zmq');
    prefixes.push(prefix);
    const address = async (): Promise<string> => `tcp://127.0.0.1:${await freePort()}`;
    const nodes: { port: string; controlPort: string }[] = [];
    for (let i = 0; i < count; i++) nodes.push({ port: await address(), controlPort: await address() });
    return nodes.map((node) => ({
      backend: { type: 'zmq', ...node, remotePorts: nodes.filter((other) => other !== node).map((other) => other.controlPort) },
      persistence: redisBackend(REDIS_URL, prefix).persistence,
    }));
  },
  async cleanUp() {
    for (const prefix of prefixes) await deletePrefix(REDIS_URL, prefix);
  },
});

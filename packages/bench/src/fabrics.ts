// The backends a cluster (`skynet@<name>`) can run on: for each, the options of the instances of
// one fresh deployment that shares nothing with any other run on the machine, and how to remove
// what it left on the shared service. The Store is Redis for every backend, so that clusters
// differ only in the fabric that carries messages between the instances.
import { Redis } from 'ioredis';
import amqp from 'amqplib';
import { MongoClient } from 'mongodb';
import { withDatabase } from '@skynet-mqtt/mongodb';
import { freePort, HOST } from './ports.js';

export const FABRIC_NAMES = ['redis', 'amqp', 'zeromq', 'mqtt', 'mongodb'] as const;
export type FabricName = (typeof FABRIC_NAMES)[number];

export interface Deployment {
  /** `backend` and `persistence` of each instance. */
  readonly options: readonly Record<string, unknown>[];
  cleanUp(): Promise<void>;
}

export interface Fabric {
  deploy(count: number): Promise<Deployment>;
}

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** The parent broker of the MQTT bridge fabric (the machine's Mosquitto). */
const MQTT_BRIDGE_URL = process.env.MQTT_BRIDGE_URL ?? 'mqtt://127.0.0.1:1883';
/** A MongoDB server: none can be installed on the development machine, so there is no default. */
const MONGO_URL = process.env.MONGO_URL;

/** Why a fabric cannot run here, or undefined if it can. */
export function fabricUnavailable(fabric: FabricName): string | undefined {
  if (fabric === 'mongodb' && !MONGO_URL) return 'MONGO_URL is not set (a MongoDB server is needed)';
  return undefined;
}
let deployments = 0;

/** A name no other run uses: `bench:<pid>:<time>:<n>`. */
function uniqueName(): string {
  return `bench:${process.pid}:${Date.now()}:${deployments++}`;
}

/** Deletes every key under `prefix` (SCAN + UNLINK). */
async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Deletes an exchange (the instances delete their own queues when they stop). */
async function deleteExchange(exchange: string): Promise<void> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    await channel.deleteExchange(exchange);
  } finally {
    await connection.close();
  }
}

/** The Redis Store of a deployment, under `prefix`. */
function redisStore(prefix: string): Record<string, unknown> {
  return { factory: 'redis', url: REDIS_URL, prefix };
}

export const FABRICS: Readonly<Record<FabricName, Fabric>> = {
  redis: {
    async deploy(count) {
      const prefix = `${uniqueName()}:`;
      return {
        options: Array.from({ length: count }, () => ({ backend: { type: 'redis', url: REDIS_URL, prefix }, persistence: redisStore(prefix) })),
        cleanUp: () => deleteRedisPrefix(prefix),
      };
    },
  },
  amqp: {
    async deploy(count) {
      const name = uniqueName();
      const exchange = name.replace(/:/g, '.');
      return {
        options: Array.from({ length: count }, () => ({ backend: { type: 'amqp', url: AMQP_URL, exchange }, persistence: redisStore(`${name}:`) })),
        cleanUp: async () => {
          await deleteExchange(exchange);
          await deleteRedisPrefix(`${name}:`);
        },
      };
    },
  },
  // The instances bind free loopback ports and list each other.
  zeromq: {
    async deploy(count) {
      const prefix = `${uniqueName()}:`;
      const nodes: { port: string; controlPort: string }[] = [];
      for (let i = 0; i < count; i++) nodes.push({ port: `tcp://${HOST}:${await freePort()}`, controlPort: `tcp://${HOST}:${await freePort()}` });
      return {
        options: nodes.map((node) => ({
          backend: { type: 'zmq', ...node, remotePorts: nodes.filter((other) => other !== node).map((other) => other.controlPort) },
          persistence: redisStore(prefix),
        })),
        cleanUp: () => deleteRedisPrefix(prefix),
      };
    },
  },
  // The instances exchange messages through the parent broker, under a topic prefix of their own.
  mqtt: {
    async deploy(count) {
      const name = uniqueName();
      const backend = { type: 'mqtt', url: MQTT_BRIDGE_URL, prefix: name.replaceAll(':', '/') };
      return {
        options: Array.from({ length: count }, () => ({ backend, persistence: redisStore(`${name}:`) })),
        cleanUp: () => deleteRedisPrefix(`${name}:`),
      };
    },
  },
  // MongoDB as both the fabric and the Store, in a database of the deployment's own.
  mongodb: {
    async deploy(count) {
      const database = uniqueName().replaceAll(':', '_');
      const url = withDatabase(MONGO_URL!, database);
      return {
        options: Array.from({ length: count }, () => ({ backend: { type: 'mongodb', url }, persistence: { factory: 'mongodb', url } })),
        async cleanUp() {
          const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
          try {
            await client.db().dropDatabase();
          } finally {
            await client.close();
          }
        },
      };
    },
  },
};

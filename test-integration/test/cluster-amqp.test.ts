/**
 * The three-instance suite on AMQP: the Emitter is an exchange of its own on the shared RabbitMQ
 * (`AMQP_URL`, default amqp://guest:guest@127.0.0.1:5672), deleted at the end; the Store is Redis
 * (`REDIS_URL`) under a key prefix of its own (AMQP has no Store).
 */
import { AMQP_URL, deleteExchanges, uniqueExchange } from '@skynet-mqtt/test-support';
import { threeInstanceSuite } from './helpers/cluster-suite.js';
import { deletePrefix, REDIS_URL, redisBackend, uniquePrefix } from './helpers/redis.js';

const exchanges: string[] = [];
const prefixes: string[] = [];

threeInstanceSuite('AMQP (RabbitMQ), Redis Store', {
  async deploy(count) {
    const exchange = uniqueExchange('cluster');
    const prefix = uniquePrefix('amqp');
    exchanges.push(exchange);
    prefixes.push(prefix);
    return Array.from({ length: count }, () => ({ backend: { type: 'amqp', url: AMQP_URL, exchange }, persistence: redisBackend(REDIS_URL, prefix).persistence }));
  },
  async cleanUp() {
    await deleteExchanges(exchanges);
    for (const prefix of prefixes) await deletePrefix(REDIS_URL, prefix);
  },
});

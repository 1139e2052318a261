import { after } from 'node:test';
import type { Emitter } from '@skynet-mqtt/core';
import { emitterContract, onFirstClose } from '@skynet-mqtt/contract-tests';
import { AmqpEmitter } from '../src/index.js';
import { AMQP_URL, deleteExchanges, uniqueExchange } from '@skynet-mqtt/test-support';

// The shared RabbitMQ: every test gets an exchange of its own, deleted at the end. Emitters made
// while others are open share it (brokers on one bus); the first made after all were closed
// starts a new one.
const exchanges: string[] = [];
let open = 0;
let exchange = '';

emitterContract('amqp', async (): Promise<Emitter> => {
  if (open === 0) {
    exchange = uniqueExchange('contract');
    exchanges.push(exchange);
  }
  open++;
  const emitter = new AmqpEmitter({ url: AMQP_URL, exchange });
  await emitter.ready();
  return onFirstClose(emitter, () => open--);
});

after(() => deleteExchanges(exchanges));

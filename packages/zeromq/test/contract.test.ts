import { after } from 'node:test';
import type { Emitter } from '@skynet-mqtt/core';
import { emitterContract, onFirstClose } from '@skynet-mqtt/contract-tests';
import { freePort } from '@skynet-mqtt/test-support';
import { ZeromqEmitter } from '../src/index.js';

// Each emitter binds two free loopback ports; emitters made while others are open list those
// others' control addresses (brokers joining a mesh); the first one made after all were closed
// starts a new mesh.
const open = new Map<ZeromqEmitter, string>();
const everyEmitter: ZeromqEmitter[] = [];

emitterContract('zeromq', async (): Promise<Emitter> => {
  const controlPort = `tcp://127.0.0.1:${await freePort()}`;
  const emitter = new ZeromqEmitter({ port: `tcp://127.0.0.1:${await freePort()}`, controlPort, remotePorts: [...open.values()], heartbeatInterval: 200 });
  everyEmitter.push(emitter);
  await emitter.start();
  open.set(emitter, controlPort);
  return onFirstClose(emitter, () => open.delete(emitter));
});

after(async () => {
  for (const emitter of everyEmitter) await emitter.close();
});

/**
 * The mesh as it changes: a peer that starts after the others, one that restarts on the same
 * addresses, one known only through another (gossip). Emitters on free loopback ports.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { Message } from '@skynet-mqtt/core';
import { waitFor } from '@skynet-mqtt/contract-tests';
import { freePort } from '@skynet-mqtt/test-support';
import { ZeromqEmitter, type ZeromqEmitterOptions } from '../src/index.js';

const made: ZeromqEmitter[] = [];
afterEach(async () => {
  for (const emitter of made.splice(0)) await emitter.close();
});

async function addresses(): Promise<{ port: string; controlPort: string }> {
  return { port: `tcp://127.0.0.1:${await freePort()}`, controlPort: `tcp://127.0.0.1:${await freePort()}` };
}

async function start(options: ZeromqEmitterOptions): Promise<ZeromqEmitter> {
  const emitter = new ZeromqEmitter({ heartbeatInterval: 100, ...options });
  made.push(emitter);
  await emitter.start();
  return emitter;
}

async function startWhenFree(options: ZeromqEmitterOptions): Promise<ZeromqEmitter> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await start(options);
    } catch (error) {
      if (attempt >= 50 || !/Address already in use/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Publishes on `from` until `received` has a message on `topic` (messages sent before the peer joined are lost: at most once). */
async function reaches(from: ZeromqEmitter, received: Message[], topic: string): Promise<void> {
  let n = 0;
  await waitFor(
    () => {
      void from.publish({ id: `m${n}`, topic, payload: Buffer.from(String(n++)), qos: 0, retain: false });
      return received.some((m) => m.topic === topic);
    },
    `a message on ${topic}`,
    15_000,
  );
}

function recorder(): { received: Message[]; handler: (m: Message) => void } {
  const received: Message[] = [];
  return { received, handler: (m) => received.push(m) };
}

describe('ZeroMQ mesh', () => {
  test('a peer that starts late is joined without restarting the one that listed it', async () => {
    const late = await addresses();
    const early = await start({ ...(await addresses()), remotePorts: [late.controlPort], joinTimeout: 200 });
    const onEarly = recorder();
    await early.subscribe('late/#', onEarly.handler);
    const lateEmitter = await start({ ...late });
    const onLate = recorder();
    await lateEmitter.subscribe('early/#', onLate.handler);
    await reaches(lateEmitter, onEarly.received, 'late/x');
    await reaches(early, onLate.received, 'early/x');
  });

  test('a peer that restarts on the same addresses is joined again', async () => {
    const bAddresses = await addresses();
    const a = await start({ ...(await addresses()), remotePorts: [bAddresses.controlPort] });
    const b1 = await start({ ...bAddresses });
    const onA = recorder();
    await a.subscribe('#', onA.handler);
    await reaches(b1, onA.received, 'from/b1');
    await b1.close();
    // The old sockets release their ports in ZeroMQ's I/O thread, a moment after close(); a new
    // process would not wait, this one in the same process does.
    const b2 = await startWhenFree({ ...bAddresses });
    const onB2 = recorder();
    await b2.subscribe('#', onB2.handler);
    await reaches(b2, onA.received, 'from/b2');
    await reaches(a, onB2.received, 'from/a');
  });

  test('peers known only through another join each other (one listed address is enough)', async () => {
    const hub = await start({ ...(await addresses()) });
    const hubControl = (hub as unknown as { options: { controlPort: string } }).options.controlPort;
    const x = await start({ ...(await addresses()), remotePorts: [hubControl] });
    const y = await start({ ...(await addresses()), remotePorts: [hubControl] });
    const onY = recorder();
    await y.subscribe('x/#', onY.handler);
    await reaches(x, onY.received, 'x/direct');
    // After joining, sync() on y covers x too: what x published before it has arrived.
    for (let i = 0; i < 100; i++) await x.publish({ id: 'test-id', topic: 'x/burst', payload: Buffer.from(String(i)), qos: 1, retain: false });
    await y.sync();
    assert.equal(onY.received.filter((m) => m.topic === 'x/burst').length, 100);
  });

  test('topics with spaces and binary payloads keep their frames apart', async () => {
    const bAddresses = await addresses();
    const b = await start({ ...bAddresses });
    // start() resolves once a and the peers it lists receive each other.
    const a = await start({ ...(await addresses()), remotePorts: [bAddresses.controlPort] });
    const onB = recorder();
    await b.subscribe('with space/#', onB.handler);
    const payload = Buffer.from([0, 32, 255, 10, 13]);
    await a.publish({ id: 'test-id', topic: 'with space/a b', payload, qos: 2, retain: true });
    await b.sync();
    assert.deepEqual(onB.received, [{ id: 'test-id', topic: 'with space/a b', payload, qos: 2, retain: true }]);
  });
});

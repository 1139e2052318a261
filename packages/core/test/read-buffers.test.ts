import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { connect } from './helpers.js';

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** A broker in a child process started with `nodeFlags`: its port, and a way to ask it for its GC counts. */
async function startChild(nodeFlags: string[]): Promise<{ url: string; ask(request: 'count' | 'reset'): Promise<unknown> }> {
  const child = fork(new URL('./read-buffers-broker.js', import.meta.url), [], { execArgv: nodeFlags, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async ask(request) {
      child.send(request);
      const [answer] = await once(child, 'message');
      return answer;
    },
  };
}

/** Sends `count` payloads of `size` bytes through the broker at QoS 0 and waits until all arrived. */
async function transfer(url: string, count: number, size: number): Promise<void> {
  const subscriber = await connect(url, { clientId: 'large-sub' });
  const publisher = await connect(url, { clientId: 'large-pub' });
  await subscriber.client.subscribeAsync('large/payloads', { qos: 0 });
  const payload = Buffer.alloc(size, 7);
  let received = 0;
  const all = new Promise<void>((resolve) =>
    subscriber.client.on('message', () => {
      if (++received === count) resolve();
    }),
  );
  for (let i = 0; i < count; i++) {
    publisher.client.publish('large/payloads', payload, { qos: 0 });
    // Let the socket drain now and then: mqtt.js would otherwise buffer the whole run.
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  await all;
  await publisher.end();
  await subscriber.end();
}

test('a broker reading large payloads asks V8 for a scavenge every 8 MB read, when the process exposes gc', { timeout: 60_000 }, async () => {
  // Without them, V8 ran a mark-compact every ~30 MB read for the buffers of socket reads (read-buffers.ts).
  const broker = await startChild(['--max-semi-space-size=4', '--expose-gc']);
  await broker.ask('reset');
  const count = 8000;
  await transfer(broker.url, count, 16 * 1024); // 131 MB, every message received
  const { minor } = (await broker.ask('count')) as { major: number; minor: number };
  const scavengesAsked = Math.floor((count * 16 * 1024) / (8 * 1024 * 1024));
  assert.ok(minor >= scavengesAsked, `${minor} scavenges for ${count} payloads of 16 KB, expected ${scavengesAsked} at least`);
});

import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { connect } from './helpers.js';

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** A broker in a child process started with `nodeFlags`: its port, and a way to ask it how many scavenges were asked for. */
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

/**
 * Publishes `count` payloads of `size` bytes at QoS 1, 64 at a time: once every PUBACK is in, the
 * broker has read them all.
 */
async function publishAll(url: string, count: number, size: number): Promise<void> {
  const publisher = await connect(url, { clientId: 'large-payloads' });
  const payload = Buffer.alloc(size, 7);
  for (let sent = 0; sent < count; sent += 64) {
    const batch = Array.from({ length: Math.min(64, count - sent) }, () => publisher.client.publishAsync('large/payloads', payload, { qos: 1 }));
    await Promise.all(batch);
  }
  await publisher.end();
}

test('a broker reading large payloads asks V8 for a scavenge every 8 MB read, when the process exposes gc', { timeout: 60_000 }, async () => {
  // Without them, V8 ran a mark-compact every ~30 MB read for the buffers of socket reads (read-buffers.ts).
  const count = 8000; // 131 MB
  const asked = Math.floor((count * 16 * 1024) / (8 * 1024 * 1024));
  for (const flags of [['--expose-gc'], []]) {
    const broker = await startChild(['--max-semi-space-size=4', ...flags]);
    await broker.ask('reset');
    await publishAll(broker.url, count, 16 * 1024);
    const scavenges = (await broker.ask('count')) as number;
    if (flags.length === 0) {
      assert.equal(scavenges, 0, 'without --expose-gc nothing is asked for');
    } else {
      // The PUBLISH headers, CONNECT and DISCONNECT add less than 8 MB to the payloads' bytes.
      assert.ok(scavenges === asked || scavenges === asked + 1, `${scavenges} scavenges asked for ${count} payloads of 16 KB, expected ${asked}`);
    }
  }
});

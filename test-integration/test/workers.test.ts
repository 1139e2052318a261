/**
 * `skynet-mqtt --workers N`: N broker processes on one port (Node's cluster), one broker through
 * the Redis Store and Emitter they share (the shared Redis at REDIS_URL, under a key prefix of the
 * run's own). Through mqtt.js clients on the one port: connections spread over the workers, QoS 2
 * exactly once and in order per publisher whichever worker each client landed on, takeover across
 * workers, a SIGKILLed worker replaced with nothing acknowledged lost, and a clean stop.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { freePort, killAll, runCli, startBroker, TempDirs, waitForLine, type CliBroker } from '@skynet-mqtt/test-support';
import { connectTo, endClients } from './helpers/cluster.js';
import { deletePrefix, REDIS_URL, redisBackend, uniquePrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const dirs = new TempDirs();
const prefixes: string[] = [];

after(async () => {
  endClients();
  await killAll();
  for (const prefix of prefixes) await deletePrefix(REDIS_URL, prefix);
  await dirs.removeAll();
});

/** The pids of `parent`'s child processes (its workers), from /proc. */
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The fourth field of /proc/<pid>/stat is the parent pid; the second, (comm), may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** `skynet-mqtt -c <config> --workers <n>` on a fresh Redis prefix; failover within about 2 s. */
async function startWorkers(workers: number): Promise<CliBroker> {
  const prefix = uniquePrefix('workers');
  prefixes.push(prefix);
  const { backend, persistence } = redisBackend(REDIS_URL, prefix);
  const config = join(await dirs.make('skynet-workers-'), 'broker.json');
  const options = { port: await freePort(), host: '127.0.0.1', id: 'wk', statsInterval: 200, backend, persistence: { ...persistence, livenessTtl: 1500 } };
  await writeFile(config, JSON.stringify(options));
  return startBroker(['--workers', String(workers)], { config, timeoutMs: 30_000 });
}

describe('--workers', () => {
  it('refuses a Store or Emitter kept inside one process, saying what to use', async () => {
    const port = String(await freePort());
    const memory = await runCli(['--workers', '2', '-p', port]);
    assert.equal(memory.code, 1);
    assert.match(memory.stderr, /--workers 2 runs 2 broker processes that must share their state, but the Store 'memory' is kept inside one process: use persistence \{ factory: 'redis' \}.*docs\/multi-core\.md/);
    const level = await runCli(['--workers', '2', '-p', port, '--db', join(await dirs.make('skynet-workers-db-'), 'db')]);
    assert.equal(level.code, 1);
    assert.match(level.stderr, /the Store 'level' is kept inside one process/);
    const usage = await runCli(['--workers', 'many']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--workers needs a number of processes from 1 to 256, or auto/);
  });

  it('two workers on one port are one broker: connections spread over both, QoS 2 exactly once and in order, takeover across workers', { timeout: 90_000 }, async () => {
    const broker = await startWorkers(2);
    assert.match(broker.bannerLine, /listening on mqtt:\/\/127\.0\.0\.1:\d+ \(2 workers, broker ids wk-1, wk-2\)/);
    assert.equal(childrenOf(broker.pid!).length, 2, 'two worker processes');

    // Each worker reports its own connections in $SYS: both must have some.
    const watcher = await connectTo(broker.port);
    const connectedOn = new Map<string, number>();
    watcher.on('message', (topic, payload) => connectedOn.set(topic.split('/')[1]!, Number(payload.toString())));
    await watcher.subscribeAsync('$SYS/+/clients/connected');

    const subscribers = await Promise.all(Array.from({ length: 4 }, (_, i) => connectTo(broker.port, { clientId: `wk-sub-${i}` })));
    const received = subscribers.map(() => new Map<string, number[]>());
    subscribers.forEach((subscriber, i) =>
      subscriber.on('message', (_topic, payload) => {
        const [publisher, seq] = payload.toString().split(':');
        const list = received[i]!.get(publisher!) ?? [];
        list.push(Number(seq));
        received[i]!.set(publisher!, list);
      }),
    );
    for (const subscriber of subscribers) await subscriber.subscribeAsync('wk/#', { qos: 2 });
    const publishers = await Promise.all(Array.from({ length: 4 }, (_, i) => connectTo(broker.port, { clientId: `wk-pub-${i}` })));
    await waitFor(() => connectedOn.get('wk-1')! > 0 && connectedOn.get('wk-2')! > 0, 10_000, () => `connections per worker: ${JSON.stringify([...connectedOn])}`);

    const count = 300;
    await Promise.all(
      publishers.map(async (publisher, p) => {
        for (let seq = 0; seq < count; seq++) await publisher.publishAsync(`wk/${p}`, `pub-${p}:${seq}`, { qos: 2 });
      }),
    );
    const expected = Array.from({ length: count }, (_, i) => i);
    await waitFor(() => received.every((bySender) => publishers.every((_, p) => (bySender.get(`pub-${p}`)?.length ?? 0) >= count)), 30_000, () => 'every message to every subscriber');
    for (const [i, bySender] of received.entries()) {
      for (let p = 0; p < publishers.length; p++) assert.deepEqual(bySender.get(`pub-${p}`), expected, `subscriber ${i} got publisher ${p}'s messages once each, in order`);
    }

    // The same client id again: one connection of the two is closed, whichever worker each is on.
    const first = await connectTo(broker.port, { clientId: 'wk-same' });
    let firstClosed = false;
    first.on('close', () => (firstClosed = true));
    const second = await connectTo(broker.port, { clientId: 'wk-same' });
    await waitFor(() => firstClosed, 10_000, () => 'the first connection of wk-same taken over');
    assert.ok(second.connected, 'the new connection stays');

    endClients();
    const exit = await broker.stop('SIGTERM');
    assert.equal(exit.code, 0, 'a clean stop');
    assert.deepEqual(childrenOf(broker.pid!), [], 'no worker left');
  });

  it('a SIGKILLed worker is replaced; a durable QoS 1 subscriber loses nothing acknowledged', { timeout: 120_000 }, async () => {
    const broker = await startWorkers(2);
    const url = `mqtt://127.0.0.1:${broker.port}`;
    // Both clients reconnect on their own, to whichever worker the primary hands them.
    const options = { reconnectPeriod: 200, connectTimeout: 5000 };
    const subscriber = await mqtt.connectAsync(url, { ...options, clientId: 'wk-durable', clean: false });
    subscriber.on('error', () => undefined);
    const got = new Set<number>();
    subscriber.on('message', (_topic, payload) => got.add(Number(payload.toString())));
    await subscriber.subscribeAsync('wk-kill/#', { qos: 1 });
    const publisher = await mqtt.connectAsync(url, { ...options, clientId: 'wk-publisher' });
    publisher.on('error', () => undefined);

    const acknowledged = new Set<number>();
    let publishing = true;
    const publishes = (async () => {
      for (let seq = 0; publishing; seq++) {
        try {
          await publisher.publishAsync('wk-kill/n', String(seq), { qos: 1 });
          acknowledged.add(seq);
        } catch {
          // not acknowledged: not counted
        }
      }
    })();
    await waitFor(() => acknowledged.size >= 200, 20_000, () => `${acknowledged.size} acknowledged before the kill`);
    const [victim] = childrenOf(broker.pid!);
    process.kill(victim!, 'SIGKILL');
    await waitForLine(broker, 'exited with signal SIGKILL; starting another', { timeoutMs: 10_000, what: 'the replacement notice' });
    await waitFor(() => childrenOf(broker.pid!).length === 2, 20_000, () => 'a second worker again');
    await waitFor(() => acknowledged.size >= 600, 60_000, () => `${acknowledged.size} acknowledged after the kill`);
    publishing = false;
    await publishes;

    await waitFor(() => [...acknowledged].every((seq) => got.has(seq)), 60_000, () => `${[...acknowledged].filter((seq) => !got.has(seq)).length} acknowledged messages not received`);
    subscriber.end(true);
    publisher.end(true);
    assert.equal((await broker.stop('SIGTERM')).code, 0);
  });
});

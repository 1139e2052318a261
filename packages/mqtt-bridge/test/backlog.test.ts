/**
 * A stalled parent must not make the broker use unbounded memory: a broker on the bridge (real
 * Server, real sockets) whose PRIVATE mosquitto parent is frozen with SIGSTOP (by its own PID)
 * while a raw socket floods QoS 0. What waits for the parent stays under maxQueuedBytes, the
 * overflow is dropped, counted and logged in a few lines, a healthy client keeps getting every
 * message of its local traffic, and a QoS 1 publisher is held back, not dropped: all its messages
 * reach the parent once it resumes. Before the limit, everything the flood sent stayed in the
 * bridge's socket buffer (1.4 GB in the benchmark). Here the flood is 256 MB and the limit 4 MB:
 * the RSS grew by 75-90 MB at peak (garbage the flood leaves until the GC runs), and by 170 MB
 * with the byte limit lifted (then the 20,000-message limit stopped it).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { Server } from '@skynet-mqtt/core';
import { sleep, waitFor } from '@skynet-mqtt/contract-tests';
import { killMosquittos, startPrivateMosquitto, wire } from '@skynet-mqtt/test-support';
import { MqttBridgeEmitter } from '../src/index.js';
import { recordingLogger } from './helpers.js';

const MB = 1024 * 1024;
const LIMIT = 4 * MB;
const FLOOD = 256 * MB;
const cleanUp: (() => Promise<unknown>)[] = [];

after(async () => {
  for (const step of cleanUp.reverse()) await step().catch(() => undefined);
  await killMosquittos();
});

async function client(url: string, clientId: string): Promise<mqtt.MqttClient> {
  const connected = await mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, connectTimeout: 10_000 });
  cleanUp.push(() => connected.endAsync(true));
  return connected;
}

/** Writes `total` bytes of QoS 0 PUBLISH frames on a raw socket, as fast as the broker reads them. */
async function flood(port: number, total: number): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  cleanUp.push(async () => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(wire.connect({ clientId: 'flood' }));
  const frame = wire.publish('flood/x', { payload: Buffer.alloc(4096, 0x61) });
  for (let sent = 0; sent < total; sent += frame.length) {
    if (!socket.write(frame)) await new Promise((resolve) => socket.once('drain', resolve));
  }
}

describe('MQTT bridge: a stalled parent', { timeout: 120_000 }, () => {
  test('a QoS 0 flood is bounded by maxQueuedBytes and dropped with a count; local traffic goes on; QoS 1 waits and arrives', async () => {
    const parent = await startPrivateMosquitto();
    cleanUp.push(async () => process.kill(parent.pid, 'SIGCONT'));
    const prefix = 'backlog';
    const logger = recordingLogger();
    const server = await Server.start({
      port: 0,
      host: '127.0.0.1',
      logger: false,
      backend: { type: 'mqtt', url: parent.url, prefix, maxQueuedBytes: LIMIT, maxQueuedMessages: 20_000, logger },
    });
    cleanUp.push(() => server.close());
    const bridge = server.emitter;
    assert.ok(bridge instanceof MqttBridgeEmitter);
    const url = `mqtt://127.0.0.1:${server.address()[0]!.port}`;

    // What crosses the parent, read there.
    const watcher = await client(parent.url, 'watcher');
    const upstream: string[] = [];
    watcher.on('message', (_topic, payload) => upstream.push(payload.toString()));
    await watcher.subscribeAsync(`${prefix}/q1/#`, { qos: 1 });

    // A healthy pair on the instance: QoS 0, one message at a time, all local.
    const healthySub = await client(url, 'healthy-sub');
    const healthy: number[] = [];
    healthySub.on('message', (_topic, payload) => healthy.push(Number(payload.toString())));
    await healthySub.subscribeAsync('healthy/#', { qos: 0 });
    const healthyPub = await client(url, 'healthy-pub');
    let healthySent = 0;
    let healthyRunning = true;
    const healthyLoop = (async () => {
      while (healthyRunning) {
        await healthyPub.publishAsync('healthy/n', String(healthySent++), { qos: 0 });
        await sleep(5);
      }
    })();

    let peakQueued = 0;
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakQueued = Math.max(peakQueued, bridge.queued.bytes);
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 5);
    cleanUp.push(async () => clearInterval(sampler));
    await sleep(200);
    const rssBefore = process.memoryUsage.rss();

    process.kill(parent.pid, 'SIGSTOP');
    // A QoS 1 publisher during the stall: its publishes wait for room (and for the parent).
    const q1 = await client(url, 'q1');
    const Q1 = 200;
    let q1Acked = 0;
    const q1Loop = (async () => {
      for (let i = 0; i < Q1; i++) {
        await q1.publishAsync(`q1/${i % 4}`, String(i), { qos: 1 });
        q1Acked++;
      }
    })();
    await flood(server.address()[0]!.port, FLOOD);
    await waitFor(() => bridge.dropped > 0, 'drops', 30_000);
    await sleep(500);
    const ackedWhileStopped = q1Acked;
    const droppedWhileStopped = bridge.dropped;

    process.kill(parent.pid, 'SIGCONT');
    await q1Loop;
    await waitFor(() => new Set(upstream).size === Q1, `all ${Q1} QoS 1 messages on the parent (${new Set(upstream).size})`, 30_000);
    await waitFor(() => bridge.queued.messages === 0, 'the backlog to drain', 30_000);
    healthyRunning = false;
    await healthyLoop;
    await waitFor(() => healthy.length === healthySent, `the healthy subscriber's ${healthySent} messages (${healthy.length})`, 10_000);
    clearInterval(sampler);

    const grown = peakRss - rssBefore;
    console.log(
      `stalled parent: flood ${FLOOD / MB} MB; peak queued ${peakQueued} bytes (limit ${LIMIT}); RSS +${(grown / MB).toFixed(1)} MB at peak; ` +
        `${bridge.dropped} QoS 0 dropped (${droppedWhileStopped} while stopped); QoS 1 acknowledged while stopped ${ackedWhileStopped}/${Q1}; healthy ${healthy.length}/${healthySent}`,
    );
    assert.ok(peakQueued <= LIMIT, `queued ${peakQueued} bytes, over the limit`);
    assert.ok(grown < 128 * MB, `RSS grew by ${(grown / MB).toFixed(1)} MB during a ${FLOOD / MB} MB flood`);
    assert.ok(droppedWhileStopped > 10_000, `most of the flood is dropped (${droppedWhileStopped})`);
    assert.equal(server.stats.droppedBy.emitterBacklog, bridge.dropped, 'counted in the broker statistics');
    assert.ok(ackedWhileStopped < Q1, 'the QoS 1 publisher was held back');
    assert.deepEqual([...new Set(upstream)].map(Number).sort((a, b) => a - b), Array.from({ length: Q1 }, (_, i) => i), 'no QoS 1 message lost');
    assert.deepEqual(healthy, Array.from({ length: healthySent }, (_, i) => i), 'every local message, in order');
    const dropLines = logger.lines.filter((line) => line.includes('dropped'));
    assert.ok(dropLines.length >= 1 && dropLines.length <= 4, `drops logged in a few lines, not one per message:\n${dropLines.join('\n')}`);
    assert.match(dropLines[0]!, /^warn MQTT bridge .*: \d+ QoS 0 message\(s\) dropped: \d+ bytes in \d+ messages wait for the parent \(maxQueuedBytes 4194304, maxQueuedMessages 20000\)/);
    await server.close();
    const logged = logger.lines.filter((line) => line.includes('dropped')).map((line) => Number(/: (\d+) QoS 0/.exec(line)![1]));
    assert.equal(logged.reduce((a, b) => a + b, 0), bridge.dropped, 'every drop is in the log once closed');
  });
});

/**
 * The parent goes away: a PRIVATE mosquitto on a free port (never the shared one), stopped and
 * started again by its PID.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { message, sleep, waitFor } from '@skynet-mqtt/contract-tests';
import { killMosquittos, startPrivateMosquitto } from '@skynet-mqtt/test-support';
import { MqttBridgeEmitter } from '../src/index.js';
import { recorder, recordingLogger } from './helpers.js';

const emitters: MqttBridgeEmitter[] = [];

after(async () => {
  for (const emitter of emitters) await emitter.close();
  await killMosquittos();
});

const logs = new Map<MqttBridgeEmitter, string[]>();

function bridge(url: string): MqttBridgeEmitter {
  const logger = recordingLogger();
  const emitter = new MqttBridgeEmitter({ url, prefix: 'fault', logger, mqttOptions: { reconnectPeriod: 200 } });
  emitters.push(emitter);
  logs.set(emitter, logger.lines);
  return emitter;
}

describe('MQTT bridge: the parent stops and starts again', { timeout: 120_000 }, () => {
  test('with a parent that keeps sessions: nothing acknowledged is lost, publishes wait, local delivery goes on', async () => {
    const parent = await startPrivateMosquitto({ persistence: true });
    const a = bridge(parent.url);
    const b = bridge(parent.url);
    const onA = recorder();
    const onB = recorder();
    await a.subscribe('n/#', onA);
    await b.subscribe('n/#', onB);

    const N = 600;
    // From the moment the old parent process is gone until the new one is spawned, nothing can
    // acknowledge a publish.
    let down = Infinity;
    let up = Infinity;
    let resolvedWhileDown = 0;
    let stopped: Promise<void> | null = null;
    for (let i = 1; i <= N; i++) {
      if (i === 200) {
        stopped = parent.stop('SIGTERM').then(async () => {
          down = Date.now();
          await sleep(1_000);
          up = Date.now();
          await parent.start();
        });
      }
      const before = onA.received.length;
      const published = a.publish(message(`n/${i % 10}`, String(i), 1));
      assert.equal(onA.received.length, before + 1, 'local handlers get the message during publish(), parent or not');
      await published;
      const now = Date.now();
      if (now > down && now < up) resolvedWhileDown++;
    }
    await stopped;
    await a.sync();
    await b.sync();
    const counts = new Map<string, number>();
    for (const m of onB.received) counts.set(m.payload.toString(), (counts.get(m.payload.toString()) ?? 0) + 1);
    const missing = Array.from({ length: N }, (_, i) => String(i + 1)).filter((p) => !counts.has(p));
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    console.log(`fault (persistent parent): B received ${onB.received.length} of ${N}, ${duplicates} duplicated, ${missing.length} missing`);
    assert.deepEqual(missing, [], `every acknowledged message reaches B; logs:\nA ${logs.get(a)!.join('\nA ')}\nB ${logs.get(b)!.join('\nB ')}`);
    assert.ok(down < up && up < Infinity, 'the parent was stopped during the run');
    assert.equal(resolvedWhileDown, 0, 'no publish() resolves while the parent is down');
    assert.equal(onA.received.length, N, 'A got each of its messages once: the parent sends none back');
    for (const emitter of [a, b]) {
      const lines = logs.get(emitter)!;
      assert.equal(lines.filter((l) => l.startsWith('warn') && l.includes('connection to the parent lost')).length, 1, lines.join('\n'));
      assert.equal(lines.filter((l) => l.includes('connection to the parent restored')).length, 1, lines.join('\n'));
    }
  });

  test('with a parent that lost everything: the bridge subscribes again, and messages flow both ways', async () => {
    const parent = await startPrivateMosquitto();
    const a = bridge(parent.url);
    const b = bridge(parent.url);
    const onA = recorder();
    const onB = recorder();
    await a.subscribe('r/#', onA);
    await b.subscribe('r/#', onB);
    await a.publish(message('r/before', 'before', 1));
    await waitFor(() => onB.received.length === 1, 'the first message on B');

    await parent.stop('SIGKILL');
    await waitFor(() => a.state === 'down' && b.state === 'down', 'both bridges to see the outage', 10_000);
    await parent.start();
    await waitFor(() => a.state === 'ready' && b.state === 'ready', 'both bridges to reconnect', 20_000);
    // sync() after the reconnect means the subscription is back on the parent.
    await a.sync();
    await b.sync();
    await a.publish(message('r/after-a', 'a', 2));
    await b.publish(message('r/after-b', 'b', 1));
    await waitFor(() => onB.received.length === 3 && onA.received.length === 3, 'the messages after the restart on both');
    await a.sync();
    await b.sync();
    for (const emitter of [a, b]) assert.ok(logs.get(emitter)!.some((l) => l.includes('the parent lost this instance')), 'the re-subscription is logged');
    // Two publishers: each instance has its own message at once, the other's after the trip.
    assert.deepEqual(onB.received.map((m) => m.topic).sort(), ['r/after-a', 'r/after-b', 'r/before']);
    assert.deepEqual(onA.received.map((m) => m.topic).sort(), ['r/after-a', 'r/after-b', 'r/before']);
  });
});

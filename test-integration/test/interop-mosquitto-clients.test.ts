/**
 * Interoperability with an independent MQTT client implementation: Eclipse Mosquitto's C
 * library, through `mosquitto_sub` and `mosquitto_pub` (Debian package mosquitto-clients).
 * The broker is the real `skynet-mqtt` command. Each check runs with MQTT 3.1.1 (`-V mqttv311`)
 * and MQTT 3.1 (`-V mqttv31`).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, killAll, startBroker, TempDirs } from '@skynet-mqtt/test-support';
import { killClients, missingClients, pub, startSub, type Received } from './helpers/mosquitto-clients.js';
import { waitFor } from './helpers/wait.js';

const dirs = new TempDirs();
let port = 0;

before(async () => {
  const missing = missingClients();
  if (missing) throw new Error(missing);
  const dir = await dirs.make('skynet-interop-');
  port = await freePort();
  const config = join(dir, 'broker.json');
  // $SYS statistics every 200 ms, so the $SYS check does not wait 10 s.
  await writeFile(config, JSON.stringify({ port, host: '127.0.0.1', stats: true, statsInterval: 200 }));
  await startBroker(['-c', config]);
});

after(async () => {
  await killClients();
  await killAll();
  await dirs.removeAll();
});

function byTopic(messages: Received[]): Received[] {
  return [...messages].sort((a, b) => a.topic.localeCompare(b.topic));
}

for (const version of ['mqttv311', 'mqttv31'] as const) {
  describe(`mosquitto_sub / mosquitto_pub (-V ${version}) against skynet-mqtt`, { timeout: 60_000 }, () => {
    const common = (): string[] => ['-h', '127.0.0.1', '-p', String(port), '-V', version];
    const base = `it/${version}`;

    it('delivers QoS 0, 1 and 2 at the published QoS, with each QoS handshake', async () => {
      const sub = startSub(common(), ['-q', '2', '-C', '3', '-t', `${base}/qos/#`]);
      await sub.subscribed();
      const outputs: string[] = [];
      for (const qos of [0, 1, 2]) outputs.push(await pub(common(), ['-q', String(qos), '-t', `${base}/qos/${qos}`, '-m', `payload-${qos}`]));
      // Broker side of the publisher's flows: PUBACK for QoS 1, PUBREC then PUBCOMP for QoS 2. [MQTT-4.3.2-2] [MQTT-4.3.3-2]
      assert.match(outputs[1]!, /received PUBACK/);
      assert.match(outputs[2]!, /received PUBREC[\s\S]*sending PUBREL[\s\S]*received PUBCOMP/);
      const result = await sub.exited;
      assert.equal(result.code, 0, `mosquitto_sub failed: ${result.stdout} ${result.stderr}`);
      assert.deepEqual(byTopic(sub.messages), [
        { topic: `${base}/qos/0`, qos: 0, retain: false, payload: 'payload-0' },
        { topic: `${base}/qos/1`, qos: 1, retain: false, payload: 'payload-1' },
        { topic: `${base}/qos/2`, qos: 2, retain: false, payload: 'payload-2' },
      ]);
      // Subscriber side: it acknowledged the QoS 1 message, and the broker released the QoS 2 one.
      assert.match(result.stdout, /sending PUBACK/);
      assert.match(result.stdout, /sending PUBREC[\s\S]*received PUBREL[\s\S]*sending PUBCOMP/);
    });

    it('keeps a retained message for a late subscriber, with the retain flag set, and clears it', async () => {
      const topic = `${base}/retained`;
      await pub(common(), ['-q', '1', '-r', '-t', topic, '-m', 'kept']);
      for (const qos of ['0', '1']) {
        const late = startSub(common(), ['-q', qos, '-C', '1', '-t', topic]);
        const result = await late.exited;
        assert.equal(result.code, 0, `mosquitto_sub failed: ${result.stdout} ${result.stderr}`);
        // [MQTT-3.3.1-6] [MQTT-3.3.1-8] retain flag set on a stored retained message, at min(QoS).
        assert.deepEqual(late.messages, [{ topic, qos: Number(qos), retain: true, payload: 'kept' }]);
      }
      // An empty retained payload removes it [MQTT-3.3.1-10]: a new subscriber then gets only live traffic.
      await pub(common(), ['-q', '1', '-r', '-n', '-t', topic]);
      const fresh = startSub(common(), ['-q', '1', '-C', '1', '-t', topic]);
      await fresh.subscribed();
      await pub(common(), ['-q', '1', '-t', topic, '-m', 'live']);
      await fresh.exited;
      assert.deepEqual(fresh.messages, [{ topic, qos: 1, retain: false, payload: 'live' }]);
    });

    it('publishes the will of a client killed with SIGKILL, and none after a clean DISCONNECT', async () => {
      const willTopic = `${base}/will`;
      const watcher = startSub(common(), ['-q', '1', '-C', '1', '-t', willTopic]);
      await watcher.subscribed();
      const willArgs = ['--will-topic', willTopic, '--will-payload', 'gone', '--will-qos', '1'];
      const doomed = startSub(common(), ['-i', `willer-${version}`, '-t', `${base}/quiet`, ...willArgs]);
      await doomed.subscribed();
      await doomed.kill('SIGKILL');
      const result = await watcher.exited;
      assert.equal(result.code, 0, `no will received: ${result.stdout} ${result.stderr}`);
      assert.deepEqual(watcher.messages, [{ topic: willTopic, qos: 1, retain: false, payload: 'gone' }]); // [MQTT-3.1.2-8]

      // mosquitto_sub -C 1 sends DISCONNECT after its message: the will is discarded. [MQTT-3.1.2-10]
      const watcher2 = startSub(common(), ['-q', '1', '-C', '1', '-t', willTopic]);
      await watcher2.subscribed();
      const polite = startSub(common(), ['-i', `willer2-${version}`, '-C', '1', '-t', `${base}/quiet2`, ...willArgs]);
      await polite.subscribed();
      await pub(common(), ['-q', '1', '-t', `${base}/quiet2`, '-m', 'bye']);
      const politeExit = await polite.exited;
      assert.equal(politeExit.code, 0);
      assert.match(politeExit.stdout, /sending DISCONNECT/);
      await pub(common(), ['-q', '1', '-t', willTopic, '-m', 'no-will']);
      await watcher2.exited;
      assert.deepEqual(watcher2.messages, [{ topic: willTopic, qos: 1, retain: false, payload: 'no-will' }]);
    });

    it('queues QoS 1 messages for a persistent session (-c) and delivers them on reconnect, in order', async () => {
      const clientId = `persist-${version}`;
      const topic = `${base}/persist`;
      const first = startSub(common(), ['-c', '-i', clientId, '-q', '1', '-t', topic, '-E']);
      assert.equal((await first.exited).code, 0, first.stdout);
      for (const i of [1, 2, 3]) await pub(common(), ['-q', '1', '-t', topic, '-m', `queued-${i}`]);
      const second = startSub(common(), ['-c', '-i', clientId, '-q', '1', '-C', '3', '-t', topic]);
      const result = await second.exited;
      assert.equal(result.code, 0, `mosquitto_sub failed: ${result.stdout} ${result.stderr}`);
      assert.deepEqual(
        second.messages.map((m) => [m.payload, m.qos, m.retain]),
        [
          ['queued-1', 1, false],
          ['queued-2', 1, false],
          ['queued-3', 1, false],
        ],
      );
      // A clean-session connection with the same id ends the stored session. [MQTT-3.1.2-6]
      assert.equal((await startSub(common(), ['-i', clientId, '-t', topic, '-E']).exited).code, 0);
    });

    it("does not match $SYS topics with '#', but does with '$SYS/#'", async () => {
      const everything = startSub(common(), ['-t', '#']);
      await everything.subscribed();
      // Three $SYS messages published after both subscriptions were acknowledged. [MQTT-4.7.2-1]
      const sys = startSub(common(), ['-C', '3', '-t', '$SYS/#']);
      const result = await sys.exited;
      assert.equal(result.code, 0, `no $SYS messages: ${result.stdout} ${result.stderr}`);
      assert.equal(sys.messages.length, 3);
      for (const message of sys.messages) assert.match(message.topic, /^\$SYS\//);
      // '#' was live all along: it gets a normal message published afterwards.
      await pub(common(), ['-t', `${base}/after-sys`, '-m', 'marker']);
      await waitFor(() => everything.messages.some((m) => m.payload === 'marker'), 5000, () => everything.stdout);
      await everything.kill('SIGTERM');
      assert.deepEqual(
        everything.messages.filter((m) => m.topic.startsWith('$')),
        [],
        "'#' received $SYS messages",
      );
      assert.deepEqual(everything.messages, [{ topic: `${base}/after-sys`, qos: 0, retain: false, payload: 'marker' }]);
    });
  });
}

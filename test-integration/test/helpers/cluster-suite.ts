/**
 * The multi-instance suite every shared backend passes: three REAL broker processes
 * (`skynet-mqtt -c <config.json>`) on one deployment of the backend under test act as one broker.
 * Cross-instance delivery at QoS 0, 1 and 2 at the granted QoS, retained messages, a durable session
 * moving between instances (also while messages are on their way to it), takeover of a client id,
 * fan-out to three instances.
 *
 * It is generic: a backend is described by a `ClusterBackend`, which says what `backend` and
 * `persistence` options make instances one deployment that shares nothing with any other run.
 * One test file per backend calls `threeInstanceSuite(name, backend)`.
 *
 * One cluster of three instances serves the whole suite (started once, SIGKILLed at the end);
 * each test uses topics and client ids of its own, so the tests do not see each other's messages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type mqtt from 'mqtt';
import { killAll, TempDirs } from '@skynet-mqtt/test-support';
import { connectTo, endClients, recordMessages, startConnect, startInstances, type Instance, type InstanceOptions, type Received } from './cluster.js';
import { sleep, waitFor, waitWhileProgressing, within } from './wait.js';

export interface ClusterBackend {
  /**
   * The options of each of `count` instances of a new deployment: the same bus and the same Store
   * for all of them (the same Redis prefix, AMQP exchange, peer list...), and nothing shared with
   * any other deployment or any other test run on this machine.
   */
  deploy(count: number): Promise<InstanceOptions[]>;
  /** Removes what the deployments left on shared services (key prefixes, exchanges); called once, at the end. */
  cleanUp?(): Promise<void>;
}

/** How often each payload was received on `topic`. */
function counts(received: Received[], topic: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const m of received) if (m.topic === topic) result.set(m.payload, (result.get(m.payload) ?? 0) + 1);
  return result;
}

function payloads(received: Received[], topicPrefix: string): string[] {
  return received.filter((m) => m.topic.startsWith(topicPrefix)).map((m) => m.payload);
}

function describeReceived(received: Received[]): string {
  return `received ${received.length}: ${received
    .slice(0, 30)
    .map((m) => `${m.topic}=${m.payload}(q${m.qos}${m.retain ? ',r' : ''})`)
    .join(' ')}`;
}

/**
 * Follows `$SYS/<broker id>/disconnect/clients` on one instance. An instance publishes it once a
 * connection's session has ended: for a durable session, once the Store records it offline and
 * the messages in transit to it have been taken. A black-box signal that works on every backend.
 */
async function watchDisconnects(instance: Instance): Promise<(clientId: string) => Promise<void>> {
  const watcher = await connectTo(instance.port, { clientId: `watch-${instance.id}-${process.pid}` });
  const seen = new Set<string>();
  watcher.on('message', (_topic, payload) => seen.add(payload.toString()));
  await watcher.subscribeAsync('$SYS/+/disconnect/clients', { qos: 0 });
  return (clientId) => waitFor(() => seen.has(clientId), 15_000, () => `no $SYS disconnect notice for ${clientId}`);
}

/** Registers the suite: `name` names the backend in the test output. */
export function threeInstanceSuite(name: string, backend: ClusterBackend): void {
  describe(`three broker processes on ${name}`, { timeout: 400_000 }, () => {
    const dirs = new TempDirs();
    let a!: Instance;
    let b!: Instance;
    let c!: Instance;
    let tests = 0;
    /** A topic root and client-id prefix nobody else uses in this cluster. */
    const scope = (): string => `t${++tests}`;

    before(async () => {
      const options = await backend.deploy(3);
      [a, b, c] = (await startInstances(['a', 'b', 'c'], (i) => options[i]!, dirs)) as [Instance, Instance, Instance];
    });

    after(async () => {
      endClients();
      await killAll();
      await dirs.removeAll();
      await backend.cleanUp?.();
    });

    it('a subscriber on B receives what a client on A publishes, at QoS 0, 1 and 2, at the granted QoS', { timeout: 60_000 }, async () => {
      const s = scope();
      const subscriber = await connectTo(b.port, { clientId: `${s}-sub` });
      const received = recordMessages(subscriber);
      const granted = await subscriber.subscribeAsync({ [`${s}/q0`]: { qos: 0 }, [`${s}/q1`]: { qos: 1 }, [`${s}/q2`]: { qos: 2 }, [`${s}/down`]: { qos: 1 } });
      assert.deepEqual(granted.map((g) => g.qos), [0, 1, 2, 1]);

      const publisher = await connectTo(a.port, { clientId: `${s}-pub` });
      const N = 20;
      for (let i = 0; i < N; i++) {
        await publisher.publishAsync(`${s}/q0`, `q0-${i}`, { qos: 0 });
        await publisher.publishAsync(`${s}/q1`, `q1-${i}`, { qos: 1 });
        await publisher.publishAsync(`${s}/q2`, `q2-${i}`, { qos: 2 });
        await publisher.publishAsync(`${s}/down`, `down-${i}`, { qos: 2 });
      }
      const expected = ['q0', 'q1', 'q2', 'down'];
      const complete = (): boolean => expected.every((tag) => counts(received, `${s}/${tag}`).size === N);
      await waitFor(complete, 15_000, () => describeReceived(received));
      await sleep(500); // late duplicates, if any, arrive now

      for (const tag of expected) {
        const c = counts(received, `${s}/${tag}`);
        for (let i = 0; i < N; i++) assert.ok(c.has(`${tag}-${i}`), `${tag}-${i} missing`);
        if (tag !== 'q1') {
          // QoS 2 exactly once; QoS 0 on loopback, and QoS 2 downgraded to 1 from a single publish: no reason for a copy.
          assert.deepEqual([...c].filter(([, n]) => n !== 1), [], `${s}/${tag}: payloads not received exactly once`);
        }
      }
      const qosOf = (tag: string): number[] => [...new Set(received.filter((m) => m.topic === `${s}/${tag}`).map((m) => m.qos))];
      assert.deepEqual(qosOf('q0'), [0]);
      assert.deepEqual(qosOf('q1'), [1]);
      assert.deepEqual(qosOf('q2'), [2]);
      assert.deepEqual(qosOf('down'), [1], 'a QoS 2 message on a QoS 1 subscription is delivered at QoS 1');
      for (const tag of expected) {
        const order = received.filter((m) => m.topic === `${s}/${tag}`).map((m) => m.payload);
        assert.deepEqual(order, [...Array(N).keys()].map((i) => `${tag}-${i}`), `${tag}: out of order`);
      }
      assert.ok(received.every((m) => !m.retain));
    });

    it('a retained message published on A is delivered, retain flag set, to a new subscriber on B and on C', { timeout: 60_000 }, async () => {
      const s = scope();
      // A subscriber already on B gets the live copy, with retain cleared [MQTT-3.3.1-9].
      const live = await connectTo(b.port, { clientId: `${s}-live` });
      const liveReceived = recordMessages(live);
      await live.subscribeAsync(`${s}/#`, { qos: 1 });

      const publisher = await connectTo(a.port, { clientId: `${s}-pub` });
      await publisher.publishAsync(`${s}/kept`, 'kept-1', { qos: 1, retain: true }); // PUBACK: stored
      await waitFor(() => liveReceived.length > 0, 10_000, () => 'the live subscriber on B got nothing');
      assert.deepEqual(liveReceived, [{ topic: `${s}/kept`, payload: 'kept-1', qos: 1, retain: false }]);

      const late = await connectTo(b.port, { clientId: `${s}-late` });
      const lateReceived = recordMessages(late);
      await late.subscribeAsync(`${s}/+`, { qos: 1 });
      await waitFor(() => lateReceived.length > 0, 10_000, () => 'the new subscriber on B did not get the retained message');
      await sleep(300);
      assert.deepEqual(lateReceived, [{ topic: `${s}/kept`, payload: 'kept-1', qos: 1, retain: true }]);

      // Replaced on A, seen by a new subscriber on C; cleared, and a later one gets nothing.
      await publisher.publishAsync(`${s}/kept`, 'kept-2', { qos: 1, retain: true });
      const onC = await connectTo(c.port, { clientId: `${s}-c` });
      const onCReceived = recordMessages(onC);
      await onC.subscribeAsync(`${s}/kept`, { qos: 0 });
      await waitFor(() => onCReceived.length > 0, 10_000, () => 'no retained message on C');
      assert.deepEqual(onCReceived, [{ topic: `${s}/kept`, payload: 'kept-2', qos: 0, retain: true }]);

      await publisher.publishAsync(`${s}/kept`, '', { qos: 1, retain: true });
      // The clearing message is also forwarded live [MQTT-3.3.1-10]: a subscriber made on C before
      // it got there (a bridge through a parent broker takes a while) would get that copy too.
      await waitFor(() => onCReceived.some((m) => m.payload === ''), 10_000, () => 'the clearing message did not reach C');
      const cleared = await connectTo(c.port, { clientId: `${s}-c2` });
      const afterReceived = recordMessages(cleared);
      await cleared.subscribeAsync(`${s}/#`, { qos: 1 });
      await publisher.publishAsync(`${s}/sentinel`, 'end', { qos: 1 });
      await waitFor(() => afterReceived.length > 0, 10_000, () => 'the sentinel did not reach C');
      assert.deepEqual(payloads(afterReceived, `${s}/`), ['end'], 'a cleared retained message was delivered');
    });

    it('a durable session made on A resumes on B: session present, subscriptions in effect, queued messages in order', { timeout: 60_000 }, async () => {
      const s = scope();
      const clientId = `${s}-dur`;
      const offlineOnA = await watchDisconnects(a);
      const first = await connectTo(a.port, { clientId, clean: false });
      await first.subscribeAsync(`${s}/d/#`, { qos: 1 });
      await first.endAsync();
      // Published only once A has let the session go, so that every message is queued by its
      // publisher, in publishing order (the next test covers messages published meanwhile).
      await offlineOnA(clientId);

      const publisher = await connectTo(c.port, { clientId: `${s}-pub` });
      const N = 25;
      const queued = [...Array(N).keys()].map((i) => `queued-${String(i).padStart(2, '0')}`);
      for (const [i, payload] of queued.entries()) await publisher.publishAsync(`${s}/d/${i % 3}`, payload, { qos: 1 });
      await publisher.publishAsync(`${s}/other`, 'not-for-dur', { qos: 1 });

      const { client: resumed, connack } = startConnect(b.port, { clientId, clean: false });
      const received = recordMessages(resumed);
      const ack = await within(connack, 10_000, 'CONNACK on B');
      assert.equal(ack.sessionPresent, true, 'the session created on A is not present on B');
      await waitFor(() => received.length >= N, 15_000, () => describeReceived(received));
      assert.deepEqual(payloads(received, `${s}/`), queued, 'queued messages missing or out of order');
      assert.ok(received.every((m) => m.qos === 1));

      // The subscription made on A is in effect on B, for publishers on every instance.
      const fromA = await connectTo(a.port, { clientId: `${s}-pub-a` });
      await fromA.publishAsync(`${s}/d/new`, 'live-from-a', { qos: 1 });
      await publisher.publishAsync(`${s}/d/new`, 'live-from-c', { qos: 1 });
      await waitFor(() => received.length >= N + 2, 10_000, () => describeReceived(received));
      await sleep(300);
      const all = payloads(received, `${s}/`);
      assert.deepEqual(all.slice(0, N), queued);
      // Two publishers on two instances: MQTT orders messages per publisher only, and each
      // instance's path to B through the fabric is its own, so either may arrive first.
      assert.deepEqual(all.slice(N).sort(), ['live-from-a', 'live-from-c']);
    });

    it('a durable client leaving A while C publishes to it: every acknowledged message reaches it, on A or after resuming on B', { timeout: 150_000 }, async () => {
      const s = scope();
      const clientId = `${s}-dur`;
      const first = await connectTo(a.port, { clientId, clean: false });
      const beforeLeaving = recordMessages(first);
      await first.subscribeAsync(`${s}/#`, { qos: 1 });
      const publisher = await connectTo(c.port, { clientId: `${s}-pub` });
      const acked: string[] = [];
      // No waiting for the session to be let go: publishing goes on through it. Many in flight at
      // once, so some are on their way through the backend when the client leaves.
      const publishing = Promise.all(
        Array.from({ length: 2000 }, async (_, i) => {
          const payload = `m-${String(i).padStart(4, '0')}`;
          await publisher.publishAsync(`${s}/x`, payload, { qos: 1 });
          acked.push(payload);
        }),
      );
      await waitFor(() => acked.length >= 300, 30_000, () => `only ${acked.length} acknowledged`);
      await first.endAsync();
      await publishing;

      const { client: resumed, connack } = startConnect(b.port, { clientId, clean: false });
      const afterResuming = recordMessages(resumed);
      assert.equal((await within(connack, 10_000, 'CONNACK on B')).sessionPresent, true);
      const got = (): Set<string> => new Set([...payloads(beforeLeaving, `${s}/`), ...payloads(afterResuming, `${s}/`)]);
      const arrived = () => beforeLeaving.length + afterResuming.length;
      await waitWhileProgressing(() => acked.every((p) => got().has(p)), arrived, 15_000, 60_000, () => `missing: ${acked.filter((p) => !got().has(p)).slice(0, 50).join(' ')}`);
      assert.ok(payloads(beforeLeaving, `${s}/`).length > 0 && payloads(afterResuming, `${s}/`).length > 0, 'the disconnect fell inside the traffic');
    });

    it('a client id connected to A that connects to B: A closes the old connection, the new one works', { timeout: 60_000 }, async () => {
      const s = scope();
      const clientId = `${s}-takeover`;
      const old = await connectTo(a.port, { clientId, reconnectPeriod: 0 });
      const oldClosed = new Promise<void>((resolve) => old.once('close', () => resolve()));

      const fresh = await connectTo(b.port, { clientId, reconnectPeriod: 0 });
      let freshClosed = false;
      fresh.on('close', () => (freshClosed = true));
      await within(oldClosed, 10_000, 'instance A did not close the connection of the taken-over client id');
      assert.equal(old.connected, false);

      // The new connection works, across instances, and stays open.
      const received = recordMessages(fresh);
      await fresh.subscribeAsync(`${s}/+`, { qos: 1 });
      const publisher = await connectTo(c.port, { clientId: `${s}-pub` });
      await publisher.publishAsync(`${s}/1`, 'hello', { qos: 1 });
      await fresh.publishAsync(`${s}/2`, 'self', { qos: 1 });
      await waitFor(() => received.length >= 2, 10_000, () => describeReceived(received));
      await sleep(500);
      assert.deepEqual(payloads(received, `${s}/`).sort(), ['hello', 'self']);
      assert.equal(freshClosed, false, 'the new connection was closed too');
      assert.equal(fresh.connected, true);
    });

    it('a publisher on A, subscribers on A, B and C: each gets every message once, in order per QoS', { timeout: 60_000 }, async (t) => {
      const s = scope();
      const subscribe = async (instance: Instance, filter: string, qos: 0 | 1 | 2): Promise<{ client: mqtt.MqttClient; received: Received[] }> => {
        const client = await connectTo(instance.port, { clientId: `${s}-${instance.id}` });
        const received = recordMessages(client);
        await client.subscribeAsync(filter, { qos });
        return { client, received };
      };
      const subscribers = [await subscribe(a, `${s}/#`, 2), await subscribe(b, `${s}/#`, 1), await subscribe(c, `${s}/+`, 2)];

      const publisher = await connectTo(a.port, { clientId: `${s}-pub` });
      const N = 100;
      const sent: string[] = [];
      for (let i = 0; i < N; i++) {
        const payload = `m-${i}`;
        sent.push(payload);
        await publisher.publishAsync(`${s}/x`, payload, { qos: (i % 3) as 0 | 1 | 2 });
      }
      await waitFor(
        () => subscribers.every(({ received }) => received.length >= N),
        15_000,
        () => subscribers.map(({ received }, i) => `${'ABC'[i]} ${describeReceived(received)}`).join('; '),
      );
      await sleep(500);
      const byQos = (list: string[], qos: number): string[] => list.filter((p) => Number(p.slice(2)) % 3 === qos);
      subscribers.forEach(({ received }, index) => {
        const on = 'ABC'[index];
        const got = payloads(received, `${s}/x`);
        assert.deepEqual([...got].sort(), [...sent].sort(), `subscriber on ${on}: not every message exactly once`);
        // MQTT orders messages of one publisher per QoS [MQTT-4.6.0-6 and the non-normative note of 4.6]:
        // a QoS 2 message may be overtaken by later QoS 0/1 ones, but never by a later one of its own QoS.
        for (const qos of [0, 1, 2]) assert.deepEqual(byQos(got, qos), byQos(sent, qos), `subscriber on ${on}: QoS ${qos} messages out of order`);
        const overtaken = got.filter((p, i) => i > 0 && Number(p.slice(2)) < Number(got[i - 1]!.slice(2))).length;
        if (overtaken > 0) t.diagnostic(`subscriber on ${on}: ${overtaken} messages arrived after a later one of another QoS`);
      });
    });
  });
}

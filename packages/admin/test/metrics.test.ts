/** /metrics: the values match what the test did. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { parseMetrics, startAdminBroker, valueOf, waitFor } from './helpers.js';

test('/metrics counts 3 clients and N messages at each QoS, in Prometheus text with the broker label', async (t) => {
  const b = await startAdminBroker(t, { id: 'metrics-broker' });
  const N = 7;
  const received: string[] = [];
  const subscriber = await b.connect({ clientId: 'sub' });
  subscriber.on('message', (topic) => received.push(topic));
  await subscriber.subscribeAsync('m/#', { qos: 2 });
  const publisher = await b.connect({ clientId: 'pub' });
  await b.connect({ clientId: 'idle' });
  for (const qos of [0, 1, 2] as const) {
    for (let i = 0; i < N; i++) {
      // Spread out a little, so that the latency sampler (armed every 100 ms) times some of them.
      if (i === 0) await new Promise((resolve) => setTimeout(resolve, 150));
      await publisher.publishAsync(`m/${qos}`, `payload ${i}`, { qos });
    }
  }
  await publisher.publishAsync('m/retained/a', 'a', { qos: 1, retain: true });
  await publisher.publishAsync('m/retained/b', 'b', { qos: 1, retain: true });
  await waitFor(() => received.length === 3 * N + 2, 'every message at the subscriber');

  const res = await fetch(`${b.admin}/metrics`); // no credential needed
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const samples = parseMetrics(await res.text());
  const broker = { broker: 'metrics-broker' };
  assert.equal(valueOf(samples, 'skynet_mqtt_connections', broker), 3);
  assert.equal(valueOf(samples, 'skynet_mqtt_connections_total', broker), 3);
  assert.equal(valueOf(samples, 'skynet_mqtt_sessions', { ...broker, state: 'connected' }), 3);
  for (const qos of ['0', '1', '2']) {
    const retainedAtQos1 = qos === '1' ? 2 : 0;
    assert.equal(valueOf(samples, 'skynet_mqtt_messages_received_total', { ...broker, qos }), N + retainedAtQos1, `received at QoS ${qos}`);
    assert.equal(valueOf(samples, 'skynet_mqtt_messages_sent_total', { ...broker, qos }), N + retainedAtQos1, `sent at QoS ${qos}`);
  }
  assert.ok(valueOf(samples, 'skynet_mqtt_received_bytes_total', broker)! > 3 * N * 'payload 0'.length);
  assert.ok(valueOf(samples, 'skynet_mqtt_sent_bytes_total', broker)! > 3 * N * 'payload 0'.length);
  assert.equal(valueOf(samples, 'skynet_mqtt_retained_messages', broker), 2);
  assert.equal(valueOf(samples, 'skynet_mqtt_subscriptions', broker), 1);
  assert.equal(valueOf(samples, 'skynet_mqtt_queued_messages', broker), 0);
  assert.equal(valueOf(samples, 'skynet_mqtt_queued_bytes', broker), 0);
  assert.equal(valueOf(samples, 'skynet_mqtt_inflight_messages', broker), 0);
  assert.equal(valueOf(samples, 'skynet_mqtt_messages_dropped_total', { ...broker, reason: 'queueFull' }), 0);
  assert.equal(valueOf(samples, 'skynet_mqtt_connections_refused_total', { ...broker, reason: 'maxConnections' }), 0);
  assert.equal(valueOf(samples, 'skynet_mqtt_backend_up', { ...broker, backend: 'store', kind: 'MemoryStore' }), 1);
  assert.equal(valueOf(samples, 'skynet_mqtt_backend_up', { ...broker, backend: 'emitter', kind: 'MemoryEmitter' }), 1);
  const sampled = valueOf(samples, 'skynet_mqtt_publish_delivery_latency_seconds_count', broker)!;
  assert.ok(sampled >= 1 && sampled <= 3 * N + 2, `some deliveries were timed, not every one (${sampled})`);
  assert.ok(valueOf(samples, 'skynet_mqtt_publish_delivery_latency_seconds_sum', broker)! > 0);
  // Process figures: event-loop lag, heap, RSS, with the broker label too.
  assert.ok(valueOf(samples, 'nodejs_eventloop_lag_seconds', broker)! >= 0);
  for (const name of ['nodejs_heap_size_used_bytes', 'process_resident_memory_bytes']) assert.ok(valueOf(samples, name, broker)! > 0, name);
});

test('refusals and drops appear under their reason', async (t) => {
  const b = await startAdminBroker(t, { maxConnections: 1, maxRetainedMessages: 1 });
  const publisher = await b.connect();
  const extra = mqtt.connect(b.mqttUrl, { reconnectPeriod: 0 });
  const error = await new Promise<Error & { code?: number }>((resolve) => extra.once('error', resolve));
  assert.equal(error.code, 3, 'CONNACK 3, server unavailable');
  extra.end(true);
  await waitFor(() => b.server.stats.refusedBy.maxConnections === 1, 'the refusal');
  await publisher.publishAsync('r/1', 'x', { qos: 1, retain: true });
  await publisher.publishAsync('r/2', 'x', { qos: 1, retain: true });
  await publisher.publishAsync('$SYS/forged', 'x', { qos: 1 });
  const samples = parseMetrics(await (await fetch(`${b.admin}/metrics`)).text());
  assert.equal(valueOf(samples, 'skynet_mqtt_connections_refused_total', { reason: 'maxConnections' }), 1);
  assert.equal(valueOf(samples, 'skynet_mqtt_retained_refused_total', { reason: 'count' }), 1);
  assert.equal(valueOf(samples, 'skynet_mqtt_messages_dropped_total', { reason: 'reservedTopic' }), 1);
});

test('a full client queue counts its drops under reason="queueFull"', async (t) => {
  const b = await startAdminBroker(t, { maxQueuedMessages: 2 });
  // A subscriber that never reads: mqtt.js is paused at the socket, so the broker's queue fills.
  // The host application publishes: there is no publishing client to slow down (backpressure).
  const stalled = await b.connect({ clientId: 'stalled' });
  await stalled.subscribeAsync('full/#', { qos: 0 });
  (stalled.stream as unknown as { pause(): void }).pause();
  const big = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < 200; i++) void b.server.publish({ topic: 'full/x', payload: big, qos: 0 });
  await waitFor(() => b.server.stats.droppedBy.queueFull > 0, 'a queueFull drop', 20_000);
  const samples = parseMetrics(await (await fetch(`${b.admin}/metrics`)).text());
  assert.ok(valueOf(samples, 'skynet_mqtt_messages_dropped_total', { reason: 'queueFull' })! > 0);
});

test('what waits for a stalled subscriber is counted in messages and in bytes', async (t) => {
  const b = await startAdminBroker(t);
  const stalled = await b.connect({ clientId: 'stalled' });
  await stalled.subscribeAsync('wait/#', { qos: 0 });
  (stalled.stream as unknown as { pause(): void }).pause();
  // 25 MiB: more than the loopback socket buffers take, so the rest waits in the broker's queue.
  const big = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < 400; i++) void b.server.publish({ topic: 'wait/x', payload: big, qos: 0 });
  await waitFor(() => b.server.stats.sentByQos[0]! > 0, 'the first messages written');
  const samples = parseMetrics(await (await fetch(`${b.admin}/metrics`)).text());
  const queued = valueOf(samples, 'skynet_mqtt_queued_messages')!;
  assert.ok(queued > 0, 'messages wait for the stalled subscriber');
  const bytes = valueOf(samples, 'skynet_mqtt_queued_bytes')!;
  assert.ok(bytes >= queued * big.length && bytes < (queued + 1) * (big.length + 1024), `${bytes} bytes for ${queued} messages of 64 KiB`);
});

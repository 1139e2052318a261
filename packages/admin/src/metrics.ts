import { DROP_REASONS, REFUSAL_REASONS, RETAINED_REFUSALS, type BackendHealth, type Server } from '@skynet-mqtt/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Health } from './health.js';
import { instanceTotals } from './snapshot.js';
import { storeQuery } from './store-query.js';

const PREFIX = 'skynet_mqtt_';
const QOS = ['0', '1', '2'] as const;

/** Latency buckets in seconds: from a quick in-process hop to a backend round trip under load. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A counter whose value is read from the broker at scrape time (Prometheus counters never go down; ours do not either). */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name: `${PREFIX}${name}`,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function mirroredCounterBy<L extends string>(registry: Registry, name: string, help: string, label: string, values: readonly L[], read: (value: L) => number): void {
  new Counter({
    name: `${PREFIX}${name}`,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const value of values) this.inc({ [label]: value }, read(value));
    },
  });
}

function gauge(registry: Registry, name: string, help: string, read: () => number | Promise<number>): void {
  new Gauge({
    name: `${PREFIX}${name}`,
    help,
    registers: [registry],
    async collect() {
      this.set(await read());
    },
  });
}

/** A gauge per backend (`backend`: store or emitter, `kind`: its class), from its health check; null leaves it out. */
function backendGauge(registry: Registry, health: Health, name: string, help: string, read: (b: BackendHealth) => number | null): void {
  new Gauge({
    name: `${PREFIX}${name}`,
    help,
    labelNames: ['backend', 'kind'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const b of await health.backends()) {
        const value = read(b);
        if (value !== null) this.set({ backend: b.role, kind: b.kind }, value);
      }
    },
  });
}

/**
 * The broker's Prometheus metrics, read from core's counters (BrokerStats), its connections and
 * its backends at scrape time: the broker does nothing per message for them beyond the counter
 * increments it makes anyway. Every series carries the broker id as the `broker` label; names
 * and units follow Prometheus conventions (docs/operations.md lists them).
 */
export function brokerMetrics(server: Server, health: Health): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ broker: server.id });
  const stats = server.stats;

  gauge(registry, 'connections', 'Clients connected to this instance', () => stats.connected);
  mirroredCounter(registry, 'connections_total', 'Connections accepted (CONNACK 0) since start', () => stats.connectionsAccepted);
  mirroredCounterBy(registry, 'connections_refused_total', 'Connections refused, by reason', 'reason', REFUSAL_REASONS, (r) => stats.refusedBy[r]);
  mirroredCounterBy(registry, 'messages_received_total', 'PUBLISH packets received from clients, by QoS', 'qos', QOS, (q) => stats.receivedByQos[Number(q)]!);
  mirroredCounterBy(registry, 'messages_sent_total', 'PUBLISH packets sent to clients, by QoS', 'qos', QOS, (q) => stats.sentByQos[Number(q)]!);
  mirroredCounter(registry, 'received_bytes_total', 'Bytes read from client connections', () => stats.bytesReceived);
  mirroredCounter(registry, 'sent_bytes_total', 'Bytes written to client connections', () => stats.bytesSent);
  mirroredCounterBy(registry, 'messages_dropped_total', 'Messages dropped, by reason', 'reason', DROP_REASONS, (r) => stats.droppedBy[r]);
  mirroredCounterBy(registry, 'retained_refused_total', 'Retained messages delivered but not kept, by limit', 'reason', RETAINED_REFUSALS, (r) => stats.retainedRefusedBy[r]);
  mirroredCounter(registry, 'publish_rate_limited_total', 'Times a client was paused for publishing faster than maxPublishRate', () => stats.publishRateLimited);

  new Gauge({
    name: `${PREFIX}retained_messages`,
    help: 'Retained messages in the Store (shared by every instance on it); absent while the Store does not answer',
    registers: [registry],
    async collect() {
      this.reset();
      const count = await storeQuery(server.store.countRetained(), 'count retained').catch(() => null);
      if (count !== null) this.set(count);
    },
  });
  gauge(registry, 'subscriptions', 'Subscriptions held by the clients connected to this instance', () => instanceTotals(server).subscriptions);
  gauge(registry, 'queued_messages', 'Messages waiting in memory for the clients connected to this instance', () => instanceTotals(server).queued);
  gauge(registry, 'queued_bytes', 'Bytes of messages waiting in memory on this instance, counted against maxTotalQueuedBytes', () => server.queuedBytes.used);
  gauge(registry, 'inflight_messages', 'QoS 1/2 messages sent to the clients of this instance and not yet acknowledged', () => instanceTotals(server).inflight);
  new Gauge({
    name: `${PREFIX}sessions`,
    help: 'Sessions: connected to this instance, and durable sessions stored offline (where the Store can count them)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.set({ state: 'connected' }, stats.connected);
      const offline = server.store.countOfflineSessions && (await storeQuery(server.store.countOfflineSessions(), 'count sessions').catch(() => null));
      if (typeof offline === 'number') this.set({ state: 'offline' }, offline);
    },
  });

  new Histogram({
    name: `${PREFIX}publish_delivery_latency_seconds`,
    help: 'From a PUBLISH received to its first delivery written to a subscriber, sampled (at most 10 messages a second)',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
    collect() {
      for (const seconds of stats.latency.drain()) this.observe(seconds);
    },
  });

  backendGauge(registry, health, 'backend_up', 'Whether the backend answered its last health check (1) or not (0)', (b) => (b.up ? 1 : 0));
  backendGauge(registry, health, 'backend_latency_seconds', 'Round trip of the backend\'s last health check (absent for in-process backends and while down)', (b) => b.latency);

  // Event-loop lag, heap, RSS, CPU, handles: prom-client's standard process and Node.js metrics.
  collectDefaultMetrics({ register: registry });
  return registry;
}

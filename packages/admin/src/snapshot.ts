import { VERSION, type Client, type Server } from '@skynet-mqtt/core';
import type { Health } from './health.js';
import { storeQuery } from './store-query.js';

/** What the REST API shows of a connected client. */
export interface ClientSummary {
  id: string;
  address: string;
  protocolVersion: number;
  connectedSince: string;
  clean: boolean;
  keepalive: number;
  subscriptions: number;
  /** Messages waiting in memory for it. */
  queued: number;
  /** QoS 1/2 messages sent to it and not yet acknowledged. */
  inflight: number;
}

export interface ClientDetail extends ClientSummary {
  subscriptionList: { topic: string; qos: number }[];
  will: { topic: string; qos: number; retain: boolean } | null;
  authenticated: boolean;
}

/** The clients connected to this instance, in the order of their ids. */
export function connectedClients(server: Server): Client[] {
  return Object.values(server.clients)
    .filter((client) => client.connected)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function clientSummary(client: Client): ClientSummary {
  return {
    id: client.id,
    address: client.remoteAddress,
    protocolVersion: client.protocolVersion,
    connectedSince: new Date(client.connectedAt).toISOString(),
    clean: client.clean,
    keepalive: client.keepalive,
    subscriptions: Object.keys(client.subscriptions).length,
    queued: client.outbound.waitingCount,
    inflight: client.outbound.inflightCount,
  };
}

export function clientDetail(client: Client): ClientDetail {
  const will = client.will;
  return {
    ...clientSummary(client),
    subscriptionList: Object.entries(client.subscriptions).map(([topic, { qos }]) => ({ topic, qos })),
    will: will && { topic: will.topic, qos: will.qos, retain: will.retain },
    authenticated: client.authenticated,
  };
}

/** Sums over this instance's connected clients, computed when asked (a scrape, a dashboard poll). */
export function instanceTotals(server: Server): { subscriptions: number; queued: number; inflight: number } {
  let subscriptions = 0;
  let queued = 0;
  let inflight = 0;
  for (const client of Object.values(server.clients)) {
    subscriptions += Object.keys(client.subscriptions).length;
    queued += client.outbound.waitingCount;
    inflight += client.outbound.inflightCount;
  }
  return { subscriptions, queued, inflight };
}

/** The figures the dashboard polls: counters since start and the current gauges. */
export async function statsSnapshot(server: Server, health: Health) {
  const s = server.stats;
  const [backends, retained] = await Promise.all([health.backends(), storeQuery(server.store.countRetained(), 'count retained').catch(() => null)]);
  return {
    brokerId: server.id,
    scope: 'instance' as const,
    time: new Date().toISOString(),
    uptimeSeconds: Math.round((Date.now() - s.startedAt.getTime()) / 1000),
    connections: s.connected,
    connectionsTotal: s.connectionsAccepted,
    refused: { ...s.refusedBy },
    received: s.publishReceived,
    sent: s.publishSent,
    receivedByQos: [...s.receivedByQos],
    sentByQos: [...s.sentByQos],
    bytesReceived: s.bytesReceived,
    bytesSent: s.bytesSent,
    dropped: s.dropped,
    droppedBy: { ...s.droppedBy },
    retained,
    ...instanceTotals(server),
    backends,
  };
}

/** Broker info: version, uptime, id, listeners, backends. */
export async function brokerInfo(server: Server, health: Health) {
  return {
    name: 'skynet-mqtt',
    version: VERSION,
    brokerId: server.id,
    scope: 'instance' as const,
    note: 'figures and clients are this instance\'s; retained messages are the shared Store\'s',
    startedAt: server.stats.startedAt.toISOString(),
    uptimeSeconds: Math.round((Date.now() - server.stats.startedAt.getTime()) / 1000),
    listeners: server.address(),
    backends: await health.backends(),
  };
}

import { ConfigurationError } from './configuration-error.js';
import type { Emitter } from './emitter/emitter.js';
import type { PublishRateOptions } from './limits/publish-rate.js';
import { interfacesOf as listedInterfaces, listenerName, type ConnectionRateOptions, type FlatListenerOptions, type InterfaceOptions } from './listeners/interface-options.js';
import { unknownOptions } from './unknown-options.js';
import type { Store } from './store/store.js';
import { DEFAULT_SYS_ACCESS, type SysAccessOptions, type SysAudience } from './sys/topic-access.js';
import type { SharedSubscriptionStrategy } from './router/shared-groups.js';
import type { DropReason } from './sys/broker-stats.js';

export { ConfigurationError } from './configuration-error.js';
export type {
  ConnectionRateOptions,
  CredentialsOptions,
  CustomListener,
  HttpListenerOptions,
  InterfaceFactory,
  InterfaceFallback,
  InterfaceOptions,
} from './listeners/interface-options.js';

/** Resolves a backend or persistence type name to something that builds it. */
/**
 * What the broker tells the adapters it builds by name, beside their options: `instanceId` is one
 * random id per broker process, the same for its Store and its Emitter, so that a shared backend
 * can tell which work a dead instance left (see Store.claimDeadInstances).
 */
export interface AdapterContext {
  instanceId: string;
  /** Counts messages the adapter dropped in the broker's statistics (`$SYS`, metrics). */
  countDrop?(reason: DropReason, count: number): void;
}
export type StoreFactory = (options: Record<string, unknown>, context?: AdapterContext) => Store | Promise<Store>;
export type EmitterFactory = (options: Record<string, unknown>, context?: AdapterContext) => Emitter | Promise<Emitter>;

/** Server options, with Mosca's names where Mosca had the feature; the listeners' are Mosca's flat ones. */
export interface ServerOptions extends FlatListenerOptions {
  /** Broker id used in `$SYS/<id>/...`; random per start when unset. */
  id?: string;
  /** The Emitter: `{ type: 'redis', ... }`, a factory, or a ready instance. Memory by default. */
  backend?: ({ type?: string | EmitterFactory } & Record<string, unknown>) | Emitter;
  /** The Store: `{ factory: 'redis' | 'level' | fn, ... }`, or a ready instance. Memory by default. */
  persistence?: ({ factory?: string | StoreFactory } & Record<string, unknown>) | Store;
  /** Unacknowledged QoS 1/2 messages per client; more wait in the client's queue. */
  maxInflightMessages?: number;
  /** Messages waiting behind the in-flight window per connected client; QoS 0 beyond it are dropped. */
  maxQueuedMessages?: number;
  /** Bytes of unacknowledged QoS 1/2 messages per client; more wait in its queue. */
  maxInflightBytes?: number;
  /** Bytes waiting per client (in memory, and in the memory Store's offline queue); the oldest is dropped beyond it. */
  maxQueuedBytes?: number;
  /** Bytes waiting in all clients' queues in this process together; a message that does not fit is dropped. */
  maxTotalQueuedBytes?: number;
  /** Milliseconds a congested subscriber may keep the publishers feeding it paused. */
  publisherPauseTimeout?: number;
  /** Milliseconds a client's socket may stay congested (not drained) before the client is disconnected. */
  drainTimeout?: number;
  /** Milliseconds between two sweeps of the durable sessions that expired (ttl.subscriptions) in the Store. */
  sessionSweepInterval?: number;
  /**
   * Milliseconds between two looks for broker instances that died, whose duties (wills, sessions,
   * unfinished deliveries) this one then takes over; only Stores shared by instances (Redis) have any.
   */
  failoverInterval?: number;
  /** Largest packet accepted, in bytes; a larger one closes that connection. */
  maxPacketSize?: number;
  /** Most levels a topic name or filter may have; a deeper one is refused (PUBLISH closes, SUBSCRIBE fails). */
  maxTopicLevels?: number;
  /** Bytes held for packets still arriving, across every connection; a packet that would exceed it closes its connection. */
  maxIncompletePacketBytes?: number;
  /** Milliseconds a connected client's packet may take to arrive in full, from its first byte. */
  incompletePacketTimeout?: number;
  /** Connections of the whole broker; CONNECT beyond it is answered CONNACK 3 (server unavailable). */
  maxConnections?: number;
  /** New connections per second per listener (`false`: no limit); beyond it sockets are closed at once. */
  connectionRate?: ConnectionRateOptions | false;
  /** PUBLISH packets and payload bytes per second per client; beyond it the client's socket is not read for a while. */
  maxPublishRate?: PublishRateOptions;
  /** Retained messages kept; a retained PUBLISH to a new topic beyond it is delivered but not kept. */
  maxRetainedMessages?: number;
  /** Largest payload kept as a retained message, in bytes; a larger one is delivered but not kept. */
  maxRetainedPayloadSize?: number;
  /** Milliseconds a connection may stay open without sending CONNECT. */
  connectTimeout?: number;
  /** Queue QoS 0 messages for offline durable sessions too (Mosca's persistence option). */
  storeMessagesQos0?: boolean;
  stats?: boolean;
  /** Milliseconds between `$SYS` statistics publications. */
  statsInterval?: number;
  publishNewClient?: boolean;
  publishClientDisconnect?: boolean;
  publishSubscriptions?: boolean;
  /** Who may read which `$SYS` topics: `{ stats: 'all', clientEvents: 'authenticated' }` by default. */
  sysAccess?: Partial<SysAccessOptions>;
  /** pino options (`level`, `name`, ...), `{ childOf: parentLogger }`, or `false` for silence. */
  logger?: Record<string, unknown> | false;
  /** Device security (`@skynet-mqtt/device-auth`): UUID/token authentication and whitelists. */
  deviceAuth?: Record<string, unknown>;
  /** The admin HTTP listener (`@skynet-mqtt/admin`): metrics, health probes, REST API, dashboard. */
  admin?: Record<string, unknown>;
  /** Mosca's QoS 2 workaround; accepted and ignored since QoS 2 is implemented. */
  onQoS2publish?: string;
  /** Mosca's ready-built ascoltatore: refused, with what to write instead (`backend`). */
  ascoltatore?: unknown;
  /**
   * Largest keepalive, in seconds, a client may use (Mosquitto's `max_keepalive`): a 5.0 client
   * asking for more, or for none, is told this one (Server Keep Alive); a 3.1/3.1.1 client is
   * refused. No cap when unset.
   */
  maxKeepalive?: number;
  /** MQTT 5: Topic Aliases a client may set per connection (advertised in CONNACK); 0 for none. */
  topicAliasMaximum?: number;
  /**
   * MQTT 5 Receive Maximum: QoS 1/2 messages a 5.0 client may have sent unacknowledged (advertised
   * in CONNACK); one more is DISCONNECT 0x93.
   */
  receiveMaximum?: number;
  /** MQTT 5 Response Information, sent to clients that ask for it (e.g. a topic prefix for responses). */
  responseInformation?: string;
  /**
   * MQTT 5 server redirection: every client is refused and, if it speaks 5.0, pointed at
   * `serverReference` (CONNACK 0x9D "Server moved" when `permanent`, else 0x9C "Use another server").
   */
  redirect?: { serverReference: string; permanent?: boolean };
  /**
   * How a shared subscription (`$share/<group>/<filter>`) picks the member each message goes to:
   * `'round-robin'` (in turn, the default) or `'random'`.
   */
  sharedSubscriptionStrategy?: SharedSubscriptionStrategy;
}

export interface ResolvedOptions {
  id: string;
  interfaces: InterfaceOptions[];
  maxInflightMessages: number;
  maxQueuedMessages: number;
  maxInflightBytes: number;
  maxQueuedBytes: number;
  maxTotalQueuedBytes: number;
  publisherPauseTimeout: number;
  drainTimeout: number;
  sessionSweepInterval: number;
  failoverInterval: number;
  maxPacketSize: number;
  maxTopicLevels: number;
  maxIncompletePacketBytes: number;
  incompletePacketTimeout: number;
  maxConnections: number;
  connectionRate: Required<ConnectionRateOptions> | null;
  maxPublishRate: PublishRateOptions | null;
  maxRetainedMessages: number;
  maxRetainedPayloadSize: number;
  connectTimeout: number;
  storeMessagesQos0: boolean;
  stats: boolean;
  statsInterval: number;
  publishNewClient: boolean;
  publishClientDisconnect: boolean;
  publishSubscriptions: boolean;
  sysAccess: SysAccessOptions;
  /** 0: no cap. */
  maxKeepalive: number;
  topicAliasMaximum: number;
  receiveMaximum: number;
  responseInformation: string | undefined;
  redirect: { serverReference: string; permanent: boolean } | undefined;
  sharedSubscriptionStrategy: SharedSubscriptionStrategy;
}

const KNOWN: ReadonlySet<string> = new Set<keyof ServerOptions>([
  'id', 'port', 'host', 'interfaces', 'secure', 'allowNonSecure', 'http', 'https', 'onlyHttp',
  'credentials', 'backend', 'persistence', 'maxInflightMessages', 'maxQueuedMessages',
  'maxInflightBytes', 'maxQueuedBytes', 'maxTotalQueuedBytes', 'publisherPauseTimeout', 'drainTimeout', 'sessionSweepInterval', 'failoverInterval',
  'maxPacketSize', 'maxTopicLevels', 'maxIncompletePacketBytes', 'incompletePacketTimeout', 'maxConnections', 'connectionRate', 'maxPublishRate', 'maxRetainedMessages',
  'maxRetainedPayloadSize', 'connectTimeout', 'storeMessagesQos0', 'stats',
  'statsInterval', 'publishNewClient', 'publishClientDisconnect', 'publishSubscriptions', 'sysAccess', 'logger',
  'onQoS2publish', 'ascoltatore', 'deviceAuth', 'admin', 'maxKeepalive', 'topicAliasMaximum', 'receiveMaximum', 'responseInformation', 'redirect',
  'sharedSubscriptionStrategy',
]);

/** Defaults of the limits that protect the broker's memory and its clients from each other (docs/operations.md). */
export const DEFAULT_LIMITS = {
  maxTopicLevels: 128,
  maxInflightBytes: 16 * 1024 * 1024,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxTotalQueuedBytes: 256 * 1024 * 1024,
  publisherPauseTimeout: 1000,
  drainTimeout: 60_000,
  sessionSweepInterval: 60_000,
  failoverInterval: 1000,
} as const;

/** Defaults of the limits that protect the broker from its clients (docs/operations.md). */
export const DEFAULT_OVERLOAD_LIMITS = {
  maxConnections: 10_000_000,
  connectionRate: { rate: 2_000, burst: 20_000 },
  maxRetainedMessages: 1_000_000,
  maxRetainedPayloadSize: 1024 * 1024,
} as const;


function positiveInteger(options: Record<string, unknown>, name: string, fallback: number, min = 1): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigurationError(`option ${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function boundedInteger(options: Record<string, unknown>, name: string, min: number, max: number): number {
  const value = options[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`option ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalString(options: Record<string, unknown>, name: string): string | undefined {
  const value = options[name];
  if (value !== undefined && typeof value !== 'string') throw new ConfigurationError(`option ${name} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

const SHARED_STRATEGIES: readonly SharedSubscriptionStrategy[] = ['round-robin', 'random'];

function sharedStrategy(value: unknown): SharedSubscriptionStrategy {
  if (value === undefined) return 'round-robin';
  if (SHARED_STRATEGIES.includes(value as SharedSubscriptionStrategy)) return value as SharedSubscriptionStrategy;
  throw new ConfigurationError(`option sharedSubscriptionStrategy must be one of ${SHARED_STRATEGIES.map((s) => `'${s}'`).join(', ')}, got ${JSON.stringify(value)}`);
}

function redirectOf(redirect: ServerOptions['redirect']): ResolvedOptions['redirect'] {
  if (redirect === undefined) return undefined;
  if (!redirect || typeof redirect.serverReference !== 'string' || redirect.serverReference === '') {
    throw new ConfigurationError(`option redirect must be { serverReference: 'host:port', permanent?: boolean }, got ${JSON.stringify(redirect)}`);
  }
  return { serverReference: redirect.serverReference, permanent: flag(redirect, 'permanent', false) };
}

function flag(options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigurationError(`option ${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function positiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigurationError(`${name} must be a number > 0, got ${JSON.stringify(value)}`);
  return value;
}

function connectionRate(value: unknown, name: string): Required<ConnectionRateOptions> | null {
  if (value === false) return null;
  if (!isObject(value)) throw new ConfigurationError(`${name} must be { rate, burst? } (new connections per second) or false, got ${JSON.stringify(value)}`);
  const unknown = Object.keys(value).filter((key) => key !== 'rate' && key !== 'burst');
  if (unknown.length > 0) throw new ConfigurationError(`${name} takes rate and burst, not ${unknown.join(', ')}`);
  const rate = positiveNumber(value.rate, `${name}.rate`);
  const burst = value.burst === undefined ? Math.max(1, Math.ceil(rate)) : positiveNumber(value.burst, `${name}.burst`);
  return { rate, burst };
}

function publishRate(value: unknown): PublishRateOptions | null {
  if (value === undefined || value === false) return null;
  if (!isObject(value)) throw new ConfigurationError(`option maxPublishRate must be { messages?, bytes? } (per client and second), got ${JSON.stringify(value)}`);
  const unknown = Object.keys(value).filter((key) => key !== 'messages' && key !== 'bytes');
  if (unknown.length > 0) throw new ConfigurationError(`option maxPublishRate takes messages and bytes, not ${unknown.join(', ')}`);
  const rate: PublishRateOptions = {};
  if (value.messages !== undefined) rate.messages = positiveNumber(value.messages, 'option maxPublishRate.messages');
  if (value.bytes !== undefined) rate.bytes = positiveNumber(value.bytes, 'option maxPublishRate.bytes');
  return rate.messages || rate.bytes ? rate : null;
}

function fileServing(iface: InterfaceOptions, name: string): void {
  if (iface.static !== undefined && (typeof iface.static !== 'string' || iface.static === '')) throw new ConfigurationError(`${name}.static must be the path of a folder to serve`);
  if (iface.bundle !== undefined && typeof iface.bundle !== 'boolean') throw new ConfigurationError(`${name}.bundle must be true or false`);
  if ((iface.static !== undefined || iface.bundle) && iface.type !== 'http' && iface.type !== 'https') {
    throw new ConfigurationError(`${name}: static and bundle are served by http and https listeners only`);
  }
}

/** At least one packet of the largest size must fit: 256 MiB by default, or maxPacketSize if larger. */
function incompletePacketBudget(options: Record<string, unknown>, maxPacketSize: number): number {
  const budget = positiveInteger(options, 'maxIncompletePacketBytes', Math.max(256 * 1024 * 1024, maxPacketSize));
  if (budget < maxPacketSize) {
    throw new ConfigurationError(`option maxIncompletePacketBytes (${budget}) must be at least maxPacketSize (${maxPacketSize}): raise it or lower maxPacketSize`);
  }
  return budget;
}

const AUDIENCES: readonly SysAudience[] = ['all', 'authenticated', 'none'];

function sysAccess(value: unknown): SysAccessOptions {
  if (value === undefined) return { ...DEFAULT_SYS_ACCESS };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`option sysAccess must be an object such as { stats: 'all', clientEvents: 'authenticated' }`);
  }
  const given = value as Record<string, unknown>;
  const resolved = { ...DEFAULT_SYS_ACCESS };
  for (const [key, audience] of Object.entries(given)) {
    if (!(key in DEFAULT_SYS_ACCESS)) throw new ConfigurationError(`unknown option sysAccess.${key}: use sysAccess.stats and sysAccess.clientEvents`);
    if (audience === undefined) continue;
    if (!AUDIENCES.includes(audience as SysAudience)) {
      throw new ConfigurationError(`option sysAccess.${key} must be one of ${AUDIENCES.join(', ')}, got ${JSON.stringify(audience)}`);
    }
    resolved[key as keyof SysAccessOptions] = audience as SysAudience;
  }
  return resolved;
}

/** Mosca's flat options (`port`, `secure`, `http`, ...) or its `interfaces`, as a list of listeners, checked. */
function interfacesOf(options: ServerOptions): InterfaceOptions[] {
  const list = listedInterfaces(options);
  list.forEach((iface, i) => {
    const name = options.interfaces !== undefined ? `interfaces[${i}]` : `option ${listenerName(iface)}`;
    fileServing(iface, name);
    if (iface.connectionRate !== undefined) connectionRate(iface.connectionRate, `${name}.connectionRate`);
  });
  return list;
}

/** The connection rate limit of a listener: its own, or the broker's. */
export function listenerConnectionRate(iface: InterfaceOptions, settings: ResolvedOptions): Required<ConnectionRateOptions> | null {
  return iface.connectionRate === undefined ? settings.connectionRate : connectionRate(iface.connectionRate, 'connectionRate');
}

/**
 * The options nothing reads (`persistence.ttl.packet`), each with what to write instead when we
 * can tell: a misspelt option is reported, not ignored (see unknown-options.ts).
 */
export function unknownOptionNames(options: object): string[] {
  return unknownOptions(options as Record<string, unknown>, KNOWN);
}

/**
 * Checks the options and fills in defaults. Unknown names are returned so the server can report
 * them: a misspelt option should never be silently ignored.
 */
export function resolveOptions(options: ServerOptions, randomId: () => string): { resolved: ResolvedOptions; unknown: string[] } {
  if (options === null || typeof options !== 'object') throw new ConfigurationError('options must be an object');
  const raw = options as Record<string, unknown>;
  const unknown = unknownOptionNames(raw);
  if (raw.ascoltatore !== undefined) {
    throw new ConfigurationError('option ascoltatore is not supported (Skynet MQTT does not use ascoltatori): give backend: { type: ... } or an Emitter as backend');
  }
  if (options.id !== undefined && (typeof options.id !== 'string' || options.id.length === 0 || /[+#/]/.test(options.id))) {
    throw new ConfigurationError(`option id must be a non-empty string without '/', '+' or '#', got ${JSON.stringify(options.id)}`);
  }
  const maxPacketSize = positiveInteger(raw, 'maxPacketSize', 16 * 1024 * 1024, 16);
  const resolved: ResolvedOptions = {
    id: options.id ?? randomId(),
    interfaces: interfacesOf(options),
    maxInflightMessages: positiveInteger(raw, 'maxInflightMessages', 1024),
    maxQueuedMessages: positiveInteger(raw, 'maxQueuedMessages', 10_000),
    maxInflightBytes: positiveInteger(raw, 'maxInflightBytes', DEFAULT_LIMITS.maxInflightBytes),
    maxQueuedBytes: positiveInteger(raw, 'maxQueuedBytes', DEFAULT_LIMITS.maxQueuedBytes),
    maxTotalQueuedBytes: positiveInteger(raw, 'maxTotalQueuedBytes', DEFAULT_LIMITS.maxTotalQueuedBytes),
    publisherPauseTimeout: positiveInteger(raw, 'publisherPauseTimeout', DEFAULT_LIMITS.publisherPauseTimeout),
    drainTimeout: positiveInteger(raw, 'drainTimeout', DEFAULT_LIMITS.drainTimeout),
    sessionSweepInterval: positiveInteger(raw, 'sessionSweepInterval', DEFAULT_LIMITS.sessionSweepInterval),
    failoverInterval: positiveInteger(raw, 'failoverInterval', DEFAULT_LIMITS.failoverInterval),
    maxPacketSize,
    maxTopicLevels: positiveInteger(raw, 'maxTopicLevels', DEFAULT_LIMITS.maxTopicLevels),
    maxIncompletePacketBytes: incompletePacketBudget(raw, maxPacketSize),
    incompletePacketTimeout: positiveInteger(raw, 'incompletePacketTimeout', 60_000),
    maxConnections: positiveInteger(raw, 'maxConnections', DEFAULT_OVERLOAD_LIMITS.maxConnections),
    connectionRate: connectionRate(raw.connectionRate ?? DEFAULT_OVERLOAD_LIMITS.connectionRate, 'option connectionRate'),
    maxPublishRate: publishRate(raw.maxPublishRate),
    maxRetainedMessages: positiveInteger(raw, 'maxRetainedMessages', DEFAULT_OVERLOAD_LIMITS.maxRetainedMessages),
    maxRetainedPayloadSize: positiveInteger(raw, 'maxRetainedPayloadSize', DEFAULT_OVERLOAD_LIMITS.maxRetainedPayloadSize),
    connectTimeout: positiveInteger(raw, 'connectTimeout', 30_000),
    storeMessagesQos0: flag(raw, 'storeMessagesQos0', false),
    stats: flag(raw, 'stats', false),
    statsInterval: positiveInteger(raw, 'statsInterval', 10_000),
    publishNewClient: flag(raw, 'publishNewClient', true),
    publishClientDisconnect: flag(raw, 'publishClientDisconnect', true),
    publishSubscriptions: flag(raw, 'publishSubscriptions', true),
    sysAccess: sysAccess(raw.sysAccess),
    maxKeepalive: raw.maxKeepalive === undefined ? 0 : boundedInteger(raw, 'maxKeepalive', 1, 65535),
    topicAliasMaximum: raw.topicAliasMaximum === undefined ? 10 : boundedInteger(raw, 'topicAliasMaximum', 0, 65535),
    receiveMaximum: raw.receiveMaximum === undefined ? 65_535 : boundedInteger(raw, 'receiveMaximum', 1, 65_535),
    responseInformation: optionalString(raw, 'responseInformation'),
    redirect: redirectOf(options.redirect),
    sharedSubscriptionStrategy: sharedStrategy(raw.sharedSubscriptionStrategy),
  };
  return { resolved, unknown };
}

import { ConfigurationError } from './configuration-error.js';
import type { Emitter } from './emitter/emitter.js';
import { interfacesOf, type FlatListenerOptions, type InterfaceOptions } from './listeners/interface-options.js';
import { unknownOptions } from './unknown-options.js';
import type { Store } from './store/store.js';
import { DEFAULT_SYS_ACCESS, type SysAccessOptions, type SysAudience } from './sys/topic-access.js';

export { ConfigurationError } from './configuration-error.js';
export type { CredentialsOptions, CustomListener, InterfaceFactory, InterfaceFallback, InterfaceOptions } from './listeners/interface-options.js';

/** Resolves a backend or persistence type name to something that builds it. */
export type StoreFactory = (options: Record<string, unknown>) => Store | Promise<Store>;
export type EmitterFactory = (options: Record<string, unknown>) => Emitter | Promise<Emitter>;

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
  /** Largest packet accepted, in bytes; a larger one closes that connection. */
  maxPacketSize?: number;
  /** Bytes held for packets still arriving, across every connection; a packet that would exceed it closes its connection. */
  maxIncompletePacketBytes?: number;
  /** Milliseconds a connected client's packet may take to arrive in full, from its first byte. */
  incompletePacketTimeout?: number;
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
}

export interface ResolvedOptions {
  id: string;
  interfaces: InterfaceOptions[];
  maxInflightMessages: number;
  maxQueuedMessages: number;
  maxPacketSize: number;
  maxIncompletePacketBytes: number;
  incompletePacketTimeout: number;
  maxConnections: number;
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
}

const KNOWN: ReadonlySet<string> = new Set<keyof ServerOptions>([
  'id', 'port', 'host', 'interfaces', 'secure', 'allowNonSecure', 'http', 'https', 'onlyHttp',
  'credentials', 'backend', 'persistence', 'maxInflightMessages', 'maxQueuedMessages',
  'maxPacketSize', 'maxIncompletePacketBytes', 'incompletePacketTimeout', 'maxConnections', 'connectTimeout', 'storeMessagesQos0', 'stats',
  'statsInterval', 'publishNewClient', 'publishClientDisconnect', 'publishSubscriptions', 'sysAccess', 'logger',
  'onQoS2publish', 'ascoltatore', 'deviceAuth', 'maxKeepalive', 'topicAliasMaximum', 'receiveMaximum', 'responseInformation', 'redirect',
]);


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
    maxPacketSize,
    maxIncompletePacketBytes: incompletePacketBudget(raw, maxPacketSize),
    incompletePacketTimeout: positiveInteger(raw, 'incompletePacketTimeout', 60_000),
    maxConnections: positiveInteger(raw, 'maxConnections', 10_000_000),
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
  };
  return { resolved, unknown };
}

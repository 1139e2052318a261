import { randomBytes } from 'node:crypto';
import type { IClientOptions } from 'mqtt';
import { AdapterOptions, type AdapterLogger } from '@skynet-mqtt/core';
import { prefixError } from './topics.js';

/**
 * Options of the MQTT bridge Emitter, with Mosca's (ascoltatori's `mqtt` type) names: a parent
 * broker given by `url` or `host`/`port`, and an optional topic `prefix` on it.
 */
export interface MqttBridgeOptions {
  /** mqtt://, mqtts://, ws:// or wss:// address of the parent broker. */
  url?: string;
  /** Mosca's names; port 1883 when only the host is given (Mosca's CLI rule). */
  host?: string;
  port?: number;
  /** Topics of this broker are `<prefix>/<topic>` on the parent. Unset: the same topics. */
  prefix?: string;
  /** Client id on the parent; random per start by default. Instances must not share one. */
  clientId?: string;
  username?: string;
  password?: string;
  /** Seconds (mqtt.js default 60). */
  keepalive?: number;
  /** 5 (default) or 4 (MQTT 3.1.1, for parents without MQTT 5: see docs/backends/mqtt-bridge.md). */
  protocolVersion?: 4 | 5;
  /** MQTT 5: seconds the parent keeps this instance's session (and queues for it) while it is disconnected. */
  sessionExpiry?: number;
  /**
   * Bytes (core's messageCost: payload, topic and 64) that may wait to be sent to the parent or
   * for its acknowledgement. Beyond it QoS 0 messages are dropped (counted as `emitterBacklog`) and
   * QoS 1/2 publishers wait. Default 32 MiB.
   */
  maxQueuedBytes?: number;
  /** The same in messages. Default 50,000 (below mqtt.js's 65,535 packet ids in flight). */
  maxQueuedMessages?: number;
  /** Passed to mqtt.js as they are: TLS (ca, cert, key, rejectUnauthorized), reconnectPeriod, ... */
  mqttOptions?: IClientOptions;
  logger?: AdapterLogger;
}

export interface ResolvedBridgeOptions {
  /** The parent's address, for mqtt.connect and for logs (credentials are not in it). */
  url: string;
  connect: IClientOptions;
  prefix: string | null;
  /** MQTT 5: the parent filters our own messages out (no local) and keeps the retain flag. */
  v5: boolean;
  maxQueuedBytes: number;
  maxQueuedMessages: number;
  logger: AdapterLogger;
}

export const DEFAULT_SESSION_EXPIRY = 600;
export const DEFAULT_MAX_QUEUED_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_QUEUED_MESSAGES = 50_000;

const KNOWN = ['url', 'host', 'port', 'prefix', 'clientId', 'username', 'password', 'keepalive', 'protocolVersion', 'sessionExpiry', 'maxQueuedBytes', 'maxQueuedMessages', 'mqttOptions', 'logger'];
const SCHEMES = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:'];

/** Validates the `backend` options of `{ type: 'mqtt', ... }` and builds mqtt.js's options. */
export function resolveBridgeOptions(input: Record<string, unknown> | MqttBridgeOptions): ResolvedBridgeOptions {
  const options = new AdapterOptions('MQTT bridge', input as Record<string, unknown>);
  options.onlyKnown(KNOWN, 'pass other mqtt.js options inside mqttOptions');
  const url = options.string('url', '"mqtt://parent.example:1883"');
  const host = options.string('host', '"parent.example"');
  const port = options.integer('port', 1, 65535, '1883');
  const prefix = options.string('prefix', '"site-1"') ?? null;
  const clientId = options.string('clientId', '"edge-1-bridge"');
  const username = options.string('username', '"edge"');
  const password = options.string('password', '"secret"');
  const keepalive = options.integer('keepalive', 0, 65535, '60');
  const protocolVersion = (options.integer('protocolVersion', 4, 5, '5') ?? 5) as 4 | 5;
  const sessionExpiry = options.integer('sessionExpiry', 0, 0xffffffff, String(DEFAULT_SESSION_EXPIRY)) ?? DEFAULT_SESSION_EXPIRY;
  const maxQueuedBytes = options.integer('maxQueuedBytes', 1, Number.MAX_SAFE_INTEGER, '33554432') ?? DEFAULT_MAX_QUEUED_BYTES;
  const maxQueuedMessages = options.integer('maxQueuedMessages', 1, 65_535, '50000') ?? DEFAULT_MAX_QUEUED_MESSAGES;
  const mqttOptions = (options.record('mqttOptions', '{ reconnectPeriod: 1000 }') ?? {}) as IClientOptions;
  const logger = options.logger();

  if (url !== undefined && (host !== undefined || port !== undefined)) options.fail('give either url or host/port, not both');
  if (url !== undefined && !SCHEMES.some((scheme) => url.startsWith(`${scheme}//`))) {
    options.fail(`option url must start with mqtt://, mqtts://, ws:// or wss://; got ${url}`);
  }
  if (prefix !== null) {
    const error = prefixError(prefix);
    if (error) options.fail(`option prefix ${error}; got ${JSON.stringify(prefix)}`);
  }
  if (protocolVersion === 4 && input.sessionExpiry !== undefined) options.fail('option sessionExpiry needs protocolVersion 5');

  const connect: IClientOptions = {
    // Resubscription is ours: after a reconnect that lost the session, see MqttBridgeEmitter.
    resubscribe: false,
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
    ...mqttOptions,
    clientId: clientId ?? mqttOptions.clientId ?? `skynet-bridge-${randomBytes(6).toString('hex')}`,
    protocolVersion,
    // A session the parent keeps across reconnects: what it queued for us meanwhile is not lost.
    clean: protocolVersion === 4,
  };
  if (protocolVersion === 5) connect.properties = { ...mqttOptions.properties, sessionExpiryInterval: sessionExpiry };
  if (username !== undefined) connect.username = username;
  if (password !== undefined) connect.password = password;
  if (keepalive !== undefined) connect.keepalive = keepalive;
  return {
    url: url ?? `mqtt://${host ?? 'localhost'}:${port ?? 1883}`,
    connect,
    prefix,
    v5: protocolVersion === 5,
    maxQueuedBytes,
    maxQueuedMessages,
    logger,
  };
}

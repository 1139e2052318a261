import { hostname } from 'node:os';
import { AdapterOptions, type AdapterLogger } from '@skynet-mqtt/core';

/** Options of the AMQP Emitter, with Mosca's (ascoltatori's) names where Mosca had one. */
export interface AmqpEmitterOptions {
  /** amqp://user:password@host:port/vhost (amqplib's, Mosca's `amqplib` type). Default amqp://127.0.0.1:5672. */
  url?: string;
  /** Mosca's `amqp` type (node-amqp): the connection as { host, port, login, password, vhost }. */
  client?: { host?: string; port?: number; login?: string; password?: string; vhost?: string };
  /** The topic exchange every instance of one deployment shares. Default 'skynet-mqtt'. */
  exchange?: string;
  /** Passed to amqplib's connect (TLS material, timeouts, heartbeat...). */
  socketOptions?: Record<string, unknown>;
  /** Messages RabbitMQ hands this instance before it acknowledges them. Default 1000. */
  prefetch?: number;
  /** How long (ms) this instance's queue outlives a lost connection, keeping what arrives meanwhile. Default 60000. */
  queueExpires?: number;
  /** QoS 0 messages not yet confirmed by RabbitMQ, in bytes, beyond which new QoS 0 messages are dropped (and counted). Default 64 MB. */
  maxUnconfirmedBytes?: number;
  /** The name RabbitMQ shows for this instance's connection (`connection_name`). */
  connectionName?: string;
  logger?: AdapterLogger;
  /** Mosca's way to pass the amqp module; accepted and ignored (amqplib is a dependency). */
  amqp?: unknown;
}

export interface ResolvedOptions {
  url: string;
  /** The URL without its password, for logs. */
  safeUrl: string;
  exchange: string;
  socketOptions: Record<string, unknown>;
  prefetch: number;
  queueExpires: number;
  maxUnconfirmedBytes: number;
  connectionName: string;
  logger: AdapterLogger;
}

export const DEFAULT_URL = 'amqp://127.0.0.1:5672';
const KNOWN = ['url', 'client', 'exchange', 'socketOptions', 'prefetch', 'queueExpires', 'maxUnconfirmedBytes', 'connectionName', 'logger', 'amqp'];

/** node-amqp's connection object (Mosca's `client`) as an amqplib URL. */
function clientUrl(options: AdapterOptions, client: Record<string, unknown>): string {
  const known = ['host', 'port', 'login', 'password', 'vhost'];
  for (const key of Object.keys(client)) if (!known.includes(key)) options.fail(`unknown option client.${key}: known are ${known.join(', ')}`);
  const part = (key: string, type: 'string' | 'number'): string | number | undefined => {
    const value = client[key];
    if (value !== undefined && typeof value !== type) options.fail(`option client.${key} must be a ${type}`);
    return value as string | number | undefined;
  };
  const login = part('login', 'string');
  const password = part('password', 'string');
  const vhost = part('vhost', 'string');
  const credentials = login === undefined ? '' : `${encodeURIComponent(String(login))}:${encodeURIComponent(String(password ?? ''))}@`;
  return `amqp://${credentials}${part('host', 'string') ?? '127.0.0.1'}:${part('port', 'number') ?? 5672}${vhost === undefined ? '' : `/${encodeURIComponent(String(vhost))}`}`;
}

/** Validates options given as plain data (a config file, the CLI) and applies defaults. */
export function resolveOptions(input: AmqpEmitterOptions | Record<string, unknown>, instanceId: string): ResolvedOptions {
  const options = new AdapterOptions('AMQP backend', input as Record<string, unknown>);
  options.onlyKnown(KNOWN, 'pass amqplib connection options inside socketOptions');
  let url = options.string('url', '"amqp://guest:guest@localhost:5672"');
  const client = options.record('client', '{ host: "localhost", port: 5672, login: "guest", password: "guest" }');
  if (url !== undefined && client !== undefined) options.fail('give either url or client, not both');
  if (url !== undefined && !/^amqps?:\/\//.test(url)) options.fail(`option url must start with amqp:// or amqps://; got ${url}`);
  url ??= client === undefined ? DEFAULT_URL : clientUrl(options, client);
  const exchange = options.string('exchange', '"mqtt"') ?? 'skynet-mqtt';
  // The queue is named after the exchange and an instance id: both must fit AMQP's 255-byte short strings.
  if (Buffer.byteLength(exchange) > 200) options.fail('option exchange must be at most 200 bytes long');
  if (exchange.startsWith('amq.')) options.fail(`option exchange must not start with "amq." (reserved by RabbitMQ); got ${exchange}`);
  const connectionName = options.string('connectionName', '"mqtt-broker-1"') ?? `skynet-mqtt ${hostname()} pid ${process.pid} ${instanceId}`;
  return {
    url,
    safeUrl: url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'),
    exchange,
    socketOptions: options.record('socketOptions', '{ heartbeat: 10 }') ?? {},
    prefetch: options.integer('prefetch', 1, 65535, '1000') ?? 1000,
    queueExpires: options.integer('queueExpires', 1000, 2 ** 31 - 1, '60000') ?? 60_000,
    maxUnconfirmedBytes: options.integer('maxUnconfirmedBytes', 1, Number.MAX_SAFE_INTEGER, '67108864') ?? 64 * 1024 * 1024,
    connectionName,
    logger: options.logger(),
  };
}

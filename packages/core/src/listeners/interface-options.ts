import type net from 'node:net';
import { ConfigurationError } from '../configuration-error.js';
import type { ServerOptions } from '../options.js';
import type { Server } from '../server.js';

/** TLS material as files (Mosca's names); anything else goes to tls.createServer as it is. */
export interface CredentialsOptions {
  keyPath?: string;
  certPath?: string;
  caPaths?: string[];
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  [tlsOption: string]: unknown;
}

/** What a custom interface factory returns: a `net.Server`, or anything shaped like one. */
export interface CustomListener {
  listen(port: number, host: string | undefined, callback: () => void): unknown;
  close(callback?: (error?: Error) => void): unknown;
  once(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  address?(): net.AddressInfo | string | null;
  maxConnections?: number;
}

/**
 * Mosca's custom listener: `type: (iface, fallback, server) => listener`. `fallback` is the
 * server's options; the listener hands each connection's byte stream to `server.accept(stream)`.
 */
export type InterfaceFactory = (iface: InterfaceOptions, fallback: InterfaceFallback, server: Server) => CustomListener;

/** The options an interface falls back on (Mosca's `fallback` argument): the server's options. */
export type InterfaceFallback = ServerOptions;

/** New connections a listener accepts per second, and how many it accepts at once after a quiet spell. */
export interface ConnectionRateOptions {
  rate: number;
  burst?: number;
}

/** One listener: Mosca's `interfaces` entries. */
export interface InterfaceOptions {
  type: 'mqtt' | 'mqtts' | 'http' | 'https' | InterfaceFactory;
  port?: number;
  host?: string;
  credentials?: CredentialsOptions;
  /** WebSocket path (http/https); any path when unset. */
  path?: string;
  /** http/https: serve this folder's files (Mosca's `static`). */
  static?: string;
  /** http/https: serve mqtt.js's browser build at `/mqtt.js` (Mosca's `bundle`). */
  bundle?: boolean;
  /** New connections per second on this listener; the broker's `connectionRate` when unset. */
  connectionRate?: ConnectionRateOptions | false;
  /** Connections this listener holds at once (the broker's `maxConnections` counts them all). */
  maxConnections?: number;
}

/** Mosca's `http`/`https` options: a WebSocket listener that may also serve files. */
export interface HttpListenerOptions {
  port?: number;
  path?: string;
  static?: string;
  bundle?: boolean;
}

/** Mosca's flat listener options. */
export interface FlatListenerOptions {
  port?: number;
  host?: string;
  credentials?: CredentialsOptions;
  interfaces?: InterfaceOptions[];
  secure?: { port?: number; keyPath?: string; certPath?: string; [tlsOption: string]: unknown };
  allowNonSecure?: boolean;
  http?: HttpListenerOptions;
  https?: HttpListenerOptions;
  onlyHttp?: boolean;
}

const DEFAULT_PORTS = { mqtt: 1883, mqtts: 8883, http: 3000, https: 3001 } as const;
type BuiltIn = keyof typeof DEFAULT_PORTS;

/** The keys each listener shape takes; others are reported (unknownListenerOptions). */
const INTERFACE_KEYS = ['type', 'port', 'host', 'credentials', 'path', 'static', 'bundle', 'connectionRate', 'maxConnections'];
const WEB_KEYS = ['port', 'path', 'static', 'bundle'];

function port(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigurationError(`${name} must be a port number from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return value;
}

function maxConnectionsOf(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ConfigurationError(`${name} must be an integer >= 1, got ${JSON.stringify(value)}`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fromInterfaces(options: FlatListenerOptions, interfaces: unknown): InterfaceOptions[] {
  if (!Array.isArray(interfaces)) throw new ConfigurationError('option interfaces must be an array');
  return interfaces.map((iface: InterfaceOptions, i) => {
    const where = `interfaces[${i}]`;
    if (!isObject(iface)) throw new ConfigurationError(`${where} must be an object such as { type: 'mqtt', port: 1883 }`);
    const custom = typeof iface.type === 'function';
    if (!custom && !((iface.type as string) in DEFAULT_PORTS)) {
      throw new ConfigurationError(`${where}.type must be one of mqtt, mqtts, http, https, or a function (iface, fallback, server) that returns a server`);
    }
    // A custom listener falls back on the top-level port, as in Mosca.
    const fallbackPort = custom ? (options.port ?? DEFAULT_PORTS.mqtt) : DEFAULT_PORTS[iface.type as BuiltIn];
    const resolved: InterfaceOptions = {
      ...iface,
      port: port(iface.port ?? fallbackPort, `${where}.port`),
      host: iface.host ?? options.host,
      credentials: iface.credentials ?? options.credentials,
    };
    const maxConnections = maxConnectionsOf(iface.maxConnections, `${where}.maxConnections`);
    if (maxConnections !== undefined) resolved.maxConnections = maxConnections;
    return resolved;
  });
}

/** Mosca's flat options (`port`, `secure`, `http`, ...) or its `interfaces`, as a list of listeners. */
export function interfacesOf(options: FlatListenerOptions): InterfaceOptions[] {
  if (options.interfaces !== undefined) return fromInterfaces(options, options.interfaces);
  const list: InterfaceOptions[] = [];
  const host = options.host;
  const secure = options.secure;
  const credentials = secure ? { ...secure, port: undefined } : options.credentials;
  if (!options.onlyHttp && (!secure || options.allowNonSecure)) {
    list.push({ type: 'mqtt', port: port(options.port ?? DEFAULT_PORTS.mqtt, 'option port'), host });
  }
  if (secure && !options.onlyHttp) {
    list.push({ type: 'mqtts', port: port(secure.port ?? DEFAULT_PORTS.mqtts, 'option secure.port'), host, credentials });
  }
  if (options.http) {
    const { port: httpPort, ...rest } = options.http;
    list.push({ ...rest, type: 'http', port: port(httpPort ?? DEFAULT_PORTS.http, 'option http.port'), host });
  }
  if (options.https) {
    const { port: httpsPort, ...rest } = options.https;
    list.push({ ...rest, type: 'https', port: port(httpsPort ?? DEFAULT_PORTS.https, 'option https.port'), host, credentials });
  }
  for (const iface of list) {
    if ((iface.type === 'mqtts' || iface.type === 'https') && (!iface.credentials?.keyPath || !iface.credentials.certPath)) {
      throw new ConfigurationError(`a ${iface.type} listener needs credentials: set secure.keyPath and secure.certPath (or credentials.keyPath and credentials.certPath)`);
    }
  }
  return list;
}

/** Keys of `http`, `https` and each `interfaces` entry that no listener reads, as `http.prot`. */
export function unknownListenerOptions(options: FlatListenerOptions): string[] {
  const unknown: string[] = [];
  const check = (where: string, value: unknown, known: string[]): void => {
    if (!isObject(value)) return;
    for (const key of Object.keys(value)) if (!known.includes(key)) unknown.push(`${where}.${key}`);
  };
  check('http', options.http, WEB_KEYS);
  check('https', options.https, WEB_KEYS);
  if (Array.isArray(options.interfaces)) options.interfaces.forEach((iface, i) => check(`interfaces[${i}]`, iface, INTERFACE_KEYS));
  return unknown;
}

/** The name a listener shows in addresses and logs: its type, or `custom` for a factory. */
export function listenerName(iface: InterfaceOptions): BuiltIn | 'custom' {
  return typeof iface.type === 'function' ? 'custom' : iface.type;
}

import type { ServerOptions } from '@skynet-mqtt/core';
import { createRequire } from 'node:module';
import type { StartFlags } from './args.js';

/** pino-pretty by path: pino's transport worker resolves a bare name from pino's own folder. */
const PINO_PRETTY = createRequire(import.meta.url).resolve('pino-pretty');

/** Flags that -c/--config overrides (everything but these). */
export const APPLIED_AFTER_CONFIG = ['--config', '--verbose', '--very-verbose', '--db', '--credentials', '--device-auth', '--admin-port', '--admin-host', '--log-format', '--workers'];

/** Mosca's CLI defaults, also for what a config file leaves out: stats on, memory store, warn. */
function withDefaults(options: ServerOptions): ServerOptions {
  return {
    ...options,
    stats: options.stats ?? true,
    persistence: options.persistence ?? { factory: 'memory' },
    logger: options.logger ?? {},
  };
}

/** The ServerOptions the flags alone describe (Mosca's lib/cli.js). */
export function optionsFromFlags(flags: StartFlags): ServerOptions {
  const options: ServerOptions = {};
  if (flags.port !== undefined) options.port = flags.port;
  if (flags.host !== undefined) options.host = flags.host;
  if (flags.brokerId !== undefined) options.id = flags.brokerId;
  if (flags.disableStats) options.stats = false;
  if (flags.key !== undefined && flags.cert !== undefined) {
    options.secure = { keyPath: flags.key, certPath: flags.cert, ...(flags.securePort !== undefined && { port: flags.securePort }) };
    if (flags.nonSecure) options.allowNonSecure = true;
  }
  // --only-http alone still means "serve WebSocket", on the default port 3000, as in Mosca; so do
  // --http-static and --http-bundle.
  const files = (dir: string | undefined, bundle: boolean) => ({ ...(dir !== undefined && { static: dir }), ...(bundle && { bundle }) });
  if (flags.httpPort !== undefined || flags.onlyHttp || flags.httpStatic !== undefined || flags.httpBundle) {
    options.http = { ...(flags.httpPort !== undefined && { port: flags.httpPort }), ...files(flags.httpStatic, flags.httpBundle) };
  }
  if (flags.httpsPort !== undefined) options.https = { port: flags.httpsPort, ...files(flags.httpsStatic, flags.httpsBundle) };
  if (flags.onlyHttp) options.onlyHttp = true;
  if (flags.parentHost !== undefined || flags.parentPort !== undefined) {
    // Mosca's tree of brokers: port 1883 when only the host is given.
    options.backend = { type: 'mqtt', host: flags.parentHost ?? 'localhost', port: flags.parentPort ?? 1883, ...(flags.parentPrefix !== undefined && { prefix: flags.parentPrefix }) };
  }
  return options;
}

/**
 * The final options: the config file, when given, replaces the flag-built options (Mosca's rule),
 * then the logging level and --db apply on top of either.
 */
export function finalOptions(flags: StartFlags, config: ServerOptions | undefined): ServerOptions {
  const options = withDefaults(config ?? optionsFromFlags(flags));
  // Mosca's order: -v wins over --very-verbose when both are given.
  const level = flags.verbose ? 'info' : flags.veryVerbose ? 'debug' : undefined;
  if (level) options.logger = options.logger === false ? { level } : { ...options.logger, level };
  if (flags.deviceAuth && options.deviceAuth === undefined) options.deviceAuth = {};
  if (flags.adminPort !== undefined) {
    options.admin = { ...options.admin, port: flags.adminPort, ...(flags.adminHost !== undefined && { host: flags.adminHost }) };
  }
  if (flags.logFormat === 'pretty' && options.logger !== false) options.logger = { ...options.logger, transport: { target: PINO_PRETTY } };
  if (flags.db !== undefined) {
    // --db swaps the Store, as Mosca's did, but keeps the persistence options every Store reads.
    const previous = (options.persistence ?? {}) as Record<string, unknown>;
    const keep = Object.fromEntries(STORE_OPTIONS.filter((key) => previous[key] !== undefined).map((key) => [key, previous[key]]));
    options.persistence = { factory: 'level', path: flags.db, ...keep };
  }
  return options;
}

/** Persistence options of any Store (Mosca's names), kept when --db picks LevelDB. */
const STORE_OPTIONS = ['ttl', 'maxQueuedMessages', 'storeMessagesQos0'];

/** Which flag sets the listener on `port`, for the "port in use" hint. */
export function flagForPort(options: ServerOptions, port: number): string {
  if (options.secure?.port === port || (options.secure && options.secure.port === undefined && port === 8883)) return '--secure-port';
  if (options.http && (options.http.port ?? 3000) === port) return '--http-port';
  if (options.https && (options.https.port ?? 3001) === port) return '--https-port';
  return '--port';
}

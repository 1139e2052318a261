import { availableParallelism } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line the CLI refuses: printed with the help hint, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What the flags say, before they become ServerOptions. Ports are already checked numbers. */
export interface StartFlags {
  port?: number;
  host?: string;
  config?: string;
  brokerId?: string;
  disableStats: boolean;
  verbose: boolean;
  veryVerbose: boolean;
  db?: string;
  key?: string;
  cert?: string;
  securePort?: number;
  nonSecure: boolean;
  httpPort?: number;
  httpsPort?: number;
  onlyHttp: boolean;
  /** Mosca's credentials file: its users authenticate, their globs authorize; reloaded on SIGHUP. */
  credentials?: string;
  /** `deviceAuth: {}` when the config has none (its secret from SKYNET_MQTT_SECRET). */
  deviceAuth: boolean;
  /** Mosca's `http: { static, bundle }` (and https's). */
  httpStatic?: string;
  httpBundle: boolean;
  httpsStatic?: string;
  httpsBundle: boolean;
  /** The admin listener (`admin: { port, host }`). */
  adminPort?: number;
  adminHost?: string;
  logFormat: 'json' | 'pretty';
  /** Mosca's tree of brokers: the parent broker of the MQTT bridge backend. */
  parentHost?: string;
  parentPort?: number;
  parentPrefix?: string;
  /** Broker processes sharing the ports (`--workers N`, or `auto`: one per core); 1 when not given. */
  workers: number;
  /** The flags given on the command line, for the "ignored because of --config" warning. */
  given: string[];
}

/** Mosca's `adduser USER PASS` and `rmuser USER`, on the file `--credentials` names. */
export type UserCommand =
  | { kind: 'adduser'; file: string; user: string; password: string; authorizePublish?: string; authorizeSubscribe?: string }
  | { kind: 'rmuser'; file: string; user: string };

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'start'; flags: StartFlags }
  /** `admin-token`: prints a new admin token and the hash to configure. */
  | { kind: 'admin-token' }
  | UserCommand
  /** `device ...`: parsed by device-args.ts. */
  | { kind: 'device'; argv: string[] };

const OPTIONS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  config: { type: 'string', short: 'c' },
  'broker-id': { type: 'string' },
  'disable-stats': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  'very-verbose': { type: 'boolean' },
  db: { type: 'string', short: 'd' },
  key: { type: 'string' },
  cert: { type: 'string' },
  'secure-port': { type: 'string' },
  'non-secure': { type: 'boolean' },
  'http-port': { type: 'string' },
  'https-port': { type: 'string' },
  'only-http': { type: 'boolean' },
  credentials: { type: 'string' },
  'authorize-publish': { type: 'string' },
  'authorize-subscribe': { type: 'string' },
  'device-auth': { type: 'boolean' },
  'http-static': { type: 'string' },
  'http-bundle': { type: 'boolean' },
  'https-static': { type: 'string' },
  'https-bundle': { type: 'boolean' },
  'admin-port': { type: 'string' },
  'admin-host': { type: 'string' },
  'log-format': { type: 'string' },
  version: { type: 'boolean', short: 'V' },
  help: { type: 'boolean', short: 'h' },
  'parent-port': { type: 'string' },
  'parent-host': { type: 'string' },
  'parent-prefix': { type: 'string' },
  workers: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw usageErrorOf(error);
  }
}

type Values = ReturnType<typeof parse>['values'];

function portValue(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0 && value <= 65535)) throw new UsageError(`--${flag} needs a port number from 0 to 65535, got '${text}'`);
  return value;
}

/** At most this many workers: a typo such as 1000 should not fork a thousand processes. */
const MAX_WORKERS = 256;

function workersValue(text: string | undefined): number {
  if (text === undefined) return 1;
  if (text === 'auto') return availableParallelism();
  const value = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= MAX_WORKERS)) throw new UsageError(`--workers needs a number of processes from 1 to ${MAX_WORKERS}, or auto (one per core), got '${text}'`);
  return value;
}

function logFormat(text: string | undefined): 'json' | 'pretty' {
  if (text === undefined || text === 'json' || text === 'pretty') return text ?? 'json';
  throw new UsageError(`--log-format is json or pretty, got '${text}'`);
}

/** Turns node's parseArgs errors (long, aimed at programmers) into one short line. */
function usageErrorOf(error: unknown): UsageError {
  const { code, message } = error as { code?: string; message: string };
  const name = /'([^']+)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`unknown option '${name ?? message}'`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (message.includes('does not take an argument')) return new UsageError(`option '${name}' takes no value`);
    // "argument missing" or "ambiguous" (the next word starts with '-'): either way a value is missing.
    return new UsageError(`option '${name}' needs a value (one starting with '-' is written --option=-value)`);
  }
  return new UsageError(message);
}

/** Parses `argv` (without node and the script) the way Mosca's commander setup did. */
/** adduser and rmuser: their positionals, with the credentials file they need. */
function userCommand(command: 'adduser' | 'rmuser', args: string[], values: Values): UserCommand {
  const file = values.credentials;
  const usage = command === 'adduser' ? 'adduser USER PASS --credentials FILE' : 'rmuser USER --credentials FILE';
  const wanted = command === 'adduser' ? 2 : 1;
  if (file === undefined || args.length !== wanted) throw new UsageError(`usage: skynet-mqtt ${usage}`);
  if (command === 'rmuser') return { kind: 'rmuser', file, user: args[0]! };
  return { kind: 'adduser', file, user: args[0]!, password: args[1]!, authorizePublish: values['authorize-publish'], authorizeSubscribe: values['authorize-subscribe'] };
}

export function parseCommandLine(argv: string[]): Command {
  // `device` has flags of its own (device-args.ts).
  if (argv[0] === 'device') return { kind: 'device', argv: argv.slice(1) };
  const parsed = parse(argv);
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (command === 'adduser' || command === 'rmuser') return userCommand(command, extra, values);
  if (command === 'admin-token' && extra.length === 0) return { kind: 'admin-token' };
  if (command !== undefined && command !== 'start') throw new UsageError(`unknown command '${command}'`);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  for (const flag of ['authorize-publish', 'authorize-subscribe'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with adduser: skynet-mqtt adduser USER PASS --credentials FILE --${flag} GLOB`);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const flags: StartFlags = {
    port: portValue(values.port, 'port'),
    host: values.host,
    config: values.config,
    brokerId: values['broker-id'],
    disableStats: values['disable-stats'] === true,
    verbose: values.verbose === true,
    veryVerbose: values['very-verbose'] === true,
    db: values.db,
    key: values.key,
    cert: values.cert,
    securePort: portValue(values['secure-port'], 'secure-port'),
    nonSecure: values['non-secure'] === true,
    httpPort: portValue(values['http-port'], 'http-port'),
    httpsPort: portValue(values['https-port'], 'https-port'),
    onlyHttp: values['only-http'] === true,
    credentials: values.credentials,
    deviceAuth: values['device-auth'] === true,
    httpStatic: values['http-static'],
    httpBundle: values['http-bundle'] === true,
    httpsStatic: values['https-static'],
    httpsBundle: values['https-bundle'] === true,
    adminPort: portValue(values['admin-port'], 'admin-port'),
    adminHost: values['admin-host'],
    logFormat: logFormat(values['log-format']),
    parentHost: values['parent-host'],
    parentPort: portValue(values['parent-port'], 'parent-port'),
    parentPrefix: values['parent-prefix'],
    workers: workersValue(values.workers),
    given: [...new Set(parsed.tokens.flatMap((t) => (t.kind === 'option' ? [`--${t.name}`] : [])))],
  };
  if ((flags.key === undefined) !== (flags.cert === undefined)) throw new UsageError('--key and --cert must be given together');
  const tls = flags.key !== undefined;
  if (!tls && flags.securePort !== undefined) throw new UsageError('--secure-port needs --key and --cert');
  if (!tls && flags.nonSecure) throw new UsageError('--non-secure only makes sense with --key and --cert');
  if (!tls && flags.httpsPort !== undefined) throw new UsageError('--https-port needs --key and --cert');
  if ((flags.httpsStatic !== undefined || flags.httpsBundle) && flags.httpsPort === undefined) throw new UsageError('--https-static and --https-bundle need --https-port');
  if (flags.adminHost !== undefined && flags.adminPort === undefined) throw new UsageError('--admin-host needs --admin-port');
  if (flags.credentials !== undefined && flags.deviceAuth) throw new UsageError('--credentials and --device-auth both authenticate clients: choose one');
  if (flags.parentPort === 0) throw new UsageError('--parent-port needs the port of the parent broker, from 1 to 65535');
  if (flags.parentPrefix !== undefined && flags.parentHost === undefined && flags.parentPort === undefined) {
    throw new UsageError('--parent-prefix needs --parent-host or --parent-port');
  }
  return { kind: 'start', flags };
}

export const HELP = `Usage: skynet-mqtt [start] [options]
       skynet-mqtt adduser USER PASS --credentials FILE [--authorize-publish GLOB] [--authorize-subscribe GLOB]
       skynet-mqtt rmuser USER --credentials FILE
       skynet-mqtt device COMMAND ...   (skynet-mqtt device --help)
       skynet-mqtt admin-token          print a new admin token and its hash (admin.secretHash)

A Mosca-compatible MQTT 3.1.1 broker.

Options:
  -p, --port <n>          MQTT port (default 1883)
      --host <ip>         address to listen on (default: all addresses)
  -c, --config <file>     options file (.json, .js, .mjs, .cjs); replaces the flags
                          but -v, --very-verbose, --db, --credentials, --device-auth,
                          --admin-*, --log-format and --workers
      --broker-id <id>    broker id used in $SYS/<id>/... (default: random)
      --disable-stats     do not publish $SYS statistics
  -v, --verbose           log at level info (pino JSON on stdout)
      --very-verbose      log at level debug
  -d, --db <path>         keep sessions and retained messages in LevelDB at <path>
      --key <file>        TLS private key (PEM), with --cert: enables mqtts
      --cert <file>       TLS certificate (PEM), with --key
      --secure-port <n>   mqtts port (default 8883)
      --non-secure        keep plain MQTT listening next to mqtts
      --http-port <n>     MQTT over WebSocket port (default 3000)
      --https-port <n>    MQTT over secure WebSocket port; needs --key and --cert
      --only-http         only the WebSocket listeners, no mqtt/mqtts
      --http-static <dir> serve this folder's files on the WebSocket port
      --http-bundle       serve the mqtt.js browser build at /mqtt.js on that port
      --https-static <dir>, --https-bundle   the same on the secure WebSocket port
      --admin-port <n>    admin HTTP listener: /metrics, /healthz, /readyz, REST API,
                          dashboard (the API's token hash: admin.secretHash or
                          SKYNET_MQTT_ADMIN_SECRET_HASH)
      --admin-host <ip>   its address (default 127.0.0.1)
      --log-format <f>    json (default) or pretty
      --credentials <f>   Mosca's credentials file: users, hashed passwords, topic
                          globs (reloaded on SIGHUP)
      --device-auth       device security (UUID/token); the secret comes from
                          SKYNET_MQTT_SECRET unless the config's deviceAuth has one
      --parent-host <h>   MQTT bridge: exchange messages through the broker at <h>
      --parent-port <n>   port of the parent broker (default 1883; host localhost)
      --parent-prefix <p> the topics of this broker are <p>/<topic> on the parent
      --workers <n>       n broker processes on the same ports (auto: one per core);
                          needs a Store and backend they share (docs/multi-core.md)
  -V, --version           print the version
  -h, --help              print this help

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 configuration or start error, 2 bad command line.
Docs: docs/cli.md
`;

import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Authorizer, ConfigurationError, hashSecret, Server, VERSION, unknownOptionNames, type ServerAddress, type ServerOptions } from '@skynet-mqtt/core';
import { bannerOf } from './banner.js';
import { HELP, parseCommandLine, UsageError, type Command, type StartFlags } from './args.js';
import { loadConfigFile } from './config.js';
import { runUserCommand } from './credentials-command.js';
import { runDeviceCommand } from './device-command.js';
import { APPLIED_AFTER_CONFIG, finalOptions, flagForPort } from './options.js';
import { workerOptions } from './workers.js';

export { HELP, parseCommandLine, UsageError } from './args.js';
export { bannerOf } from './banner.js';
export type { Command, StartFlags } from './args.js';
export { loadConfigFile } from './config.js';
export { finalOptions, optionsFromFlags } from './options.js';
export { exitOnSignals } from './shutdown.js';
export type { Closable, ShutdownIo } from './shutdown.js';

/** Where the CLI writes: the banner, warnings and errors go to stderr; stdout is for pino logs. */
export interface CliContext {
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
  /** Directory a relative --config path is resolved against (default: process.cwd()). */
  cwd?: string;
  /** Says the broker listens (default: its banner on stderr; a worker tells its primary instead). */
  announce?: (server: Server) => void;
}

/** A broker started by the CLI. */
export interface RunningBroker {
  server: Server;
  options: ServerOptions;
  addresses: ServerAddress[];
  banner: string;
  close(): Promise<void>;
  /** With --credentials: reads the file again (SIGHUP); on an error the users in force stay. */
  reloadCredentials?: () => Promise<void>;
}

/** Either the broker runs, or the command is over and the process should exit with `code`. */
export type CliOutcome = { status: 'running'; broker: RunningBroker } | { status: 'exit'; code: number };

/** The message for a failed start, with a hint of what to type instead when we know it. */
function startFailure(error: unknown, options: ServerOptions | undefined, flags: StartFlags): string {
  if (!(error instanceof ConfigurationError)) {
    const detail = flags.veryVerbose && error instanceof Error && error.stack ? error.stack : String((error as Error)?.message ?? error);
    return `skynet-mqtt: could not start: ${detail}\n`;
  }
  let text = `skynet-mqtt: ${error.message}\n`;
  const port = error.port;
  if (port !== undefined && options) {
    const hint = flags.config !== undefined ? `change the port in ${flags.config}` : `skynet-mqtt ${flagForPort(options, port)} ${port === 65535 ? 1884 : port + 1}`;
    text += `try: ${hint}\n`;
  }
  return text;
}

async function start(flags: StartFlags, context: Required<CliContext>): Promise<CliOutcome> {
  const { stderr } = context;
  let options: ServerOptions | undefined;
  try {
    const config = flags.config === undefined ? undefined : await loadConfigFile(flags.config, context.cwd);
    if (config) {
      const ignored = flags.given.filter((flag) => !APPLIED_AFTER_CONFIG.includes(flag));
      if (ignored.length > 0) stderr.write(`skynet-mqtt: warning: ${ignored.join(', ')} ignored: the config file replaces the command line options\n`);
    }
    options = workerOptions(finalOptions(flags, config));
    const unknown = unknownOptionNames(options);
    if (unknown.length > 0) stderr.write(`skynet-mqtt: warning: unknown options ignored: ${unknown.join(', ')}\n`);
    const credentials = flags.credentials;
    const authorizer = credentials === undefined ? undefined : await Authorizer.load(resolve(context.cwd, credentials));
    const server = new Server(options);
    // Set before the listeners open (the server starts its backends first): no client gets in unchecked.
    if (authorizer) {
      server.authenticate = authorizer.authenticate;
      server.authorizePublish = authorizer.authorizePublish;
      server.authorizeSubscribe = authorizer.authorizeSubscribe;
    }
    // Without an 'error' listener the core logs the failure itself; ready() rejects for us instead.
    server.on('error', () => undefined);
    await server.ready();
    const banner = bannerOf(server);
    context.announce(server);
    const broker: RunningBroker = { server, options, addresses: server.address(), banner, close: () => server.close() };
    if (authorizer && credentials !== undefined) {
      broker.reloadCredentials = async () => {
        try {
          authorizer.users = (await Authorizer.load(resolve(context.cwd, credentials))).users;
          stderr.write(`skynet-mqtt: ${credentials} reloaded (${Object.keys(authorizer.users).length} users)\n`);
        } catch (error) {
          stderr.write(`skynet-mqtt: ${(error as Error).message}; the users loaded before stay in force\n`);
        }
      };
    }
    return { status: 'running', broker };
  } catch (error) {
    stderr.write(startFailure(error, options, flags));
    return { status: 'exit', code: 1 };
  }
}

/** `skynet-mqtt admin-token`: a new random token, and the hash the broker's config holds instead of it. */
async function adminToken(): Promise<string> {
  const token = randomBytes(24).toString('base64url');
  const secretHash = await hashSecret(token);
  return `${JSON.stringify({ token, secretHash })}\n`;
}

/**
 * Runs the skynet-mqtt command line in this process: prints help or version, or starts a broker.
 * It never exits the process; bin.ts does, and installs the signal handlers.
 */
export async function runCli(argv: string[], context: CliContext = {}): Promise<CliOutcome> {
  const stderr = context.stderr ?? process.stderr;
  const ctx: Required<CliContext> = { stdout: process.stdout, stderr, cwd: process.cwd(), announce: (server) => stderr.write(`${bannerOf(server)}\n`), ...context };
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    ctx.stderr.write(`skynet-mqtt: ${error.message}\nRun 'skynet-mqtt --help' for the list of options.\n`);
    return { status: 'exit', code: 2 };
  }
  if (command.kind === 'help') {
    ctx.stdout.write(HELP);
    return { status: 'exit', code: 0 };
  }
  if (command.kind === 'version') {
    ctx.stdout.write(`${VERSION}\n`);
    return { status: 'exit', code: 0 };
  }
  if (command.kind === 'adduser' || command.kind === 'rmuser') return { status: 'exit', code: await runUserCommand(command, ctx.stderr) };
  if (command.kind === 'admin-token') {
    ctx.stdout.write(await adminToken());
    return { status: 'exit', code: 0 };
  }
  if (command.kind === 'device') {
    try {
      return { status: 'exit', code: await runDeviceCommand(command.argv, { ...ctx, env: process.env }) };
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      ctx.stderr.write(`skynet-mqtt: ${error.message}\nRun 'skynet-mqtt device --help' for the device commands.\n`);
      return { status: 'exit', code: 2 };
    }
  }
  return start(command.flags, ctx);
}

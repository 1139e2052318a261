/**
 * The real `skynet-mqtt` command (the built bin of the `@skynet-mqtt/cli` workspace package) as a
 * tracked child process: `killAll()` stops whatever is left.
 */
import { fileURLToPath } from 'node:url';
import { spawnTracked, waitForLine, type Exit, type TrackedProcess } from './processes.js';

/** The path of `skynet-mqtt`'s bin: dist/src/bin.js next to the CLI package's main module (built by `npm run build`). */
export function cliBin(): string {
  return fileURLToPath(new URL('./bin.js', import.meta.resolve('@skynet-mqtt/cli')));
}

/** What the CLI prints once all its listeners are up. */
const BANNER = ' listening on ';

export interface CliOptions {
  cwd?: string;
  /** The bin to run; default `cliBin()`. */
  bin?: string;
  /** Variables added to this process's environment (SKYNET_MQTT_SECRET, ...). */
  env?: NodeJS.ProcessEnv;
}

export interface CliProcess extends TrackedProcess {
  /** Resolves with the banner line, or rejects with what was printed if the process exits first or `timeoutMs` (default 10 s) passes. */
  banner(timeoutMs?: number): Promise<string>;
}

/** Starts `skynet-mqtt ...args` without waiting for anything. */
export function spawnCli(args: string[], options: CliOptions = {}): CliProcess {
  const proc = spawnTracked(process.execPath, [options.bin ?? cliBin(), ...args], { cwd: options.cwd, env: options.env && { ...process.env, ...options.env } });
  return Object.assign(proc, { banner: (timeoutMs = 10_000) => waitForLine(proc, BANNER, { timeoutMs, what: 'banner' }) });
}

/** Runs `skynet-mqtt ...args` to completion (for commands that must exit), SIGKILLing it after `timeoutMs` (default 10 s). */
export async function runCli(args: string[], options: CliOptions & { timeoutMs?: number } = {}): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = spawnCli(args, options);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), options.timeoutMs ?? 10_000);
  const exit = await cli.exited;
  clearTimeout(timer);
  return { ...exit, stdout: cli.stdout, stderr: cli.stderr };
}

/** The port of the first listener named in a banner line. */
export function bannerPort(banner: string): number {
  const match = /:\/\/[^ ,]*:(\d+)/.exec(banner);
  if (!match) throw new Error(`no port in banner: ${banner}`);
  return Number(match[1]);
}

export interface StartBrokerOptions extends CliOptions {
  /** A JSON config file, passed as `-c <config>` before `args`. */
  config?: string;
  /** How long to wait for the banner (default 15 s); the process is SIGKILLed if it does not come. */
  timeoutMs?: number;
}

export interface CliBroker extends CliProcess {
  /** The port of the first listener, from the banner. */
  port: number;
  /** The banner line. */
  bannerLine: string;
  /** Sends `signal` (default SIGTERM: a clean shutdown) and waits until the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** Starts `skynet-mqtt [-c config] ...args` and resolves once its banner is printed. */
export async function startBroker(args: string[], options: StartBrokerOptions = {}): Promise<CliBroker> {
  const { config, timeoutMs = 15_000, ...cliOptions } = options;
  const cli = spawnCli(config === undefined ? args : ['-c', config, ...args], cliOptions);
  let bannerLine: string;
  try {
    bannerLine = await cli.banner(timeoutMs);
  } catch (error) {
    await cli.kill('SIGKILL');
    throw error;
  }
  return Object.assign(cli, {
    port: bannerPort(bannerLine),
    bannerLine,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => cli.kill(signal),
  });
}

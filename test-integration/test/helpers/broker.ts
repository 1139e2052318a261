/**
 * Runs the real `skynet-mqtt` command (the CLI package's built bin) as a child process, as the
 * CLI's own tests do (packages/cli/test/helpers.ts). Every child is tracked so that `killAll()`,
 * called from `after`, leaves nothing running whatever a test did; temp dirs likewise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
/** The bin of the `@skynet-mqtt/cli` workspace package, built by `npm run build`. */
export const BIN = join(dirname(require.resolve('@skynet-mqtt/cli/package.json')), 'dist/src/bin.js');

/** A port nobody listens on right now: bind port 0, read it, release it. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface BrokerProcess {
  child: ChildProcess;
  readonly stderr: string;
  exited: Promise<Exit>;
  /** SIGKILLs the process (no clean-up of any kind runs in it) and waits until it is gone. */
  kill(): Promise<Exit>;
}

const running = new Set<ChildProcess>();

/** Starts the bin with `args` and resolves once its banner line is printed. */
export async function startBroker(args: string[], timeoutMs = 15_000): Promise<BrokerProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const broker: BrokerProcess = {
    child,
    get stderr() {
      return stderr;
    },
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner after ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    const check = (): void => {
      if (!stderr.includes(' listening on ')) return;
      clearTimeout(timer);
      child.stderr!.off('data', check);
      resolve();
    };
    child.stderr!.on('data', check);
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${exit.code ?? exit.signal} before its banner; stderr: ${stderr}`));
    });
    check();
  });
  return broker;
}

/** SIGKILLs every broker still running; for `after` hooks. */
export async function killAll(): Promise<void> {
  const children = [...running];
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'close') : undefined)));
}

/** Temporary directories, removed together at the end of a test file. */
export class TempDirs {
  private readonly made: string[] = [];

  async make(prefix = 'skynet-it-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.made.push(dir);
    return dir;
  }

  async removeAll(): Promise<void> {
    for (const dir of this.made.splice(0)) await rm(dir, { recursive: true, force: true });
  }
}

/** Resolves once `predicate` holds (polled), or rejects with `describe()` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Child processes for tests. Every child spawned here is tracked until it is gone, so that
 * `killAll()`, called from `after`, leaves nothing running whatever a test did.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TrackedProcess {
  child: ChildProcess;
  readonly pid: number | undefined;
  /** Everything printed so far (empty when the stream is not captured). */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves once the process is gone and its streams are closed. */
  exited: Promise<Exit>;
  /** Sends `signal` (default SIGKILL) to the process's PID unless it is gone already, and waits until it is. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Pipe and record stdout and stderr (default), or ignore both. */
  capture?: boolean;
}

const running = new Set<ChildProcess>();

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends `signal` to `pid` if that process still exists (a process gone already is not an error). */
export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Spawns `command` and tracks it until it is gone. A failure to spawn (say ENOENT) shows in `exited` and `stderr`. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): TrackedProcess {
  const capture = options.capture ?? true;
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'ignore' });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.once('error', (error) => (stderr += `cannot run ${command}: ${error.message}\n`));
  // 'close' rather than 'exit': it comes after the last output chunk (and after a spawn error).
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    get pid() {
      return child.pid;
    },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (alive(child) && child.pid !== undefined) killPid(child.pid, signal);
      return exited;
    },
  };
}

export interface WaitForLineOptions {
  /** The stream to watch; default stderr. */
  stream?: 'stdout' | 'stderr';
  /** Default 10 s. */
  timeoutMs?: number;
  /** Names what is awaited in the error messages; default "the line". */
  what?: string;
}

/**
 * Resolves with the first line of the process's output (the last, unterminated part included) for
 * which `match` holds, or for which it is a substring; rejects, with what the process printed, on
 * timeout or if the process exits first. The process keeps running on timeout.
 */
export function waitForLine(proc: TrackedProcess, match: string | ((line: string) => boolean), options: WaitForLineOptions = {}): Promise<string> {
  const { stream = 'stderr', timeoutMs = 10_000, what = 'the line' } = options;
  const matches = typeof match === 'string' ? (line: string) => line.includes(match) : match;
  const source = proc.child[stream];
  const output = (): string => proc[stream];
  return new Promise<string>((resolve, reject) => {
    let done = false;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      source?.off('data', check);
      settle();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} after ${timeoutMs} ms; ${stream}: ${output()}`))), timeoutMs);
    // Registered after spawnTracked's recorder, so the output already holds the chunk.
    function check(): void {
      const line = output().split('\n').find(matches);
      if (line !== undefined) finish(() => resolve(line));
    }
    source?.on('data', check);
    void proc.exited.then((exit) => {
      check();
      finish(() => reject(new Error(`exited with ${exit.code ?? exit.signal} before ${what}; ${stream}: ${output()}`)));
    });
    check();
  });
}

/** SIGKILLs every tracked child still running and waits until all are gone; for `after` hooks. */
export async function killAll(): Promise<void> {
  const children = [...running];
  for (const child of children) if (alive(child)) child.kill('SIGKILL');
  await Promise.all(children.map((child) => (running.has(child) ? new Promise((resolve) => child.once('close', resolve)) : undefined)));
}

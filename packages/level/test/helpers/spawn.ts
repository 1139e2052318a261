import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

export interface Child {
  process: ChildProcess;
  /** Every complete stdout line so far. */
  lines: string[];
  /** Resolves once `predicate` holds for the lines read (checked on every chunk). */
  until(predicate: (lines: string[]) => boolean, timeoutMs?: number): Promise<void>;
  kill(): Promise<void>;
}

export function startChild(mode: 'open' | 'hold' | 'enqueue', path: string): Child {
  const child = spawn(process.execPath, [CHILD, mode, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const wake of [...waiters]) wake();
  });
  // 'close' rather than 'exit': it comes after the last stdout chunk.
  const exited = once(child, 'close');
  return {
    process: child,
    lines,
    until(predicate, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child timed out; output so far: ${lines.join(' | ')}`)), timeoutMs);
        const check = (): void => {
          if (!predicate(lines)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        void exited.then(() => {
          if (waiters.has(check)) {
            check();
            if (waiters.delete(check)) {
              clearTimeout(timer);
              reject(new Error(`child exited; output: ${lines.join(' | ')}`));
            }
          }
        });
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waiting in tests: polling for a condition, sleeping, bounding a promise by a timeout. */

/** Resolves once `predicate` holds (polled), or rejects with `describe()` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Resolves once `predicate` holds, or rejects with `describe()` once `progress()` (a count of what
 * arrived) stood still for `idleMs` or `maxMs` passed. For a loaded machine's backlog: a slow
 * catch-up is waited for, a loss still fails.
 */
export async function waitWhileProgressing(predicate: () => boolean, progress: () => number, idleMs: number, maxMs: number, describe: () => string): Promise<void> {
  const started = Date.now();
  let count = progress();
  let movedAt = started;
  while (!predicate()) {
    const now = Date.now();
    if (now - movedAt > idleMs || now - started > maxMs) throw new Error(`nothing new for ${now - movedAt} ms (${now - started} ms in all): ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (progress() !== count) [count, movedAt] = [progress(), Date.now()];
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `what` if `promise` has not settled after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

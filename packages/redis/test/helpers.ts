import type { Logger } from '../src/index.js';

/** Records log lines, to check an outage is logged once and not per command. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(`warn ${m}`), info: (m) => lines.push(`info ${m}`), error: (m) => lines.push(`error ${m}`) };
}

/** Tracks a promise's outcome without awaiting it. */
export function track<T>(promise: Promise<T>): { settled: () => boolean; rejected: () => unknown; promise: Promise<T> } {
  let settled = false;
  let rejection: unknown = null;
  promise.then(
    () => (settled = true),
    (error: unknown) => {
      settled = true;
      rejection = error;
    },
  );
  return { settled: () => settled, rejected: () => rejection, promise };
}

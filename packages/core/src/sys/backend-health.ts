import type { Emitter } from '../emitter/emitter.js';
import type { Store } from '../store/store.js';
import { timeLimit } from '../time-limit.js';

/** Whether a backend answered, and how fast. */
export interface BackendHealth {
  /** Which backend: the Store (`persistence`) or the Emitter (`backend`). */
  role: 'store' | 'emitter';
  /** Its implementation (`RedisStore`, `MemoryEmitter`, ...). */
  kind: string;
  up: boolean;
  /** Round trip of its ping in seconds; null when it has no server to ask (in-process backends). */
  latency: number | null;
  /** Why it is down. */
  error?: string;
}

/** The part of a Store or Emitter that can say whether its server answers. */
interface Pingable {
  ping?(): Promise<void>;
}

async function check(role: BackendHealth['role'], backend: Pingable & object, timeoutMs: number): Promise<BackendHealth> {
  const kind = backend.constructor.name;
  if (typeof backend.ping !== 'function') return { role, kind, up: true, latency: null };
  const started = performance.now();
  try {
    await timeLimit(backend.ping(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    return { role, kind, up: true, latency: (performance.now() - started) / 1000 };
  } catch (error) {
    return { role, kind, up: false, latency: null, error: (error as Error).message };
  }
}

/** Pings the Store and the Emitter (each at most `timeoutMs`); a backend without ping() is in-process, so up. */
export function checkBackends(store: Store, emitter: Emitter, timeoutMs: number): Promise<BackendHealth[]> {
  return Promise.all([check('store', store, timeoutMs), check('emitter', emitter, timeoutMs)]);
}

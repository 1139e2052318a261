import type { Client } from './connection/client.js';
import type { Message, PublishedMessage } from './types.js';

type Callback<T> = (error: Error | null | undefined, result?: T) => void;

/** Mosca's hooks. Each may call its callback, return a promise, or return the verdict directly. */
export interface Hooks {
  authenticate?: (client: Client, username: string | undefined, password: Buffer | undefined, callback: Callback<boolean>) => unknown;
  /** true publishes, a Buffer publishes that payload instead, 'ignore' acks without publishing. */
  authorizePublish?: (client: Client, topic: string, payload: Buffer, callback: Callback<boolean | Buffer | 'ignore'>) => unknown;
  authorizeSubscribe?: (client: Client, topic: string, callback: Callback<boolean>) => unknown;
  authorizeForward?: (client: Client, packet: Message, callback: Callback<boolean>) => unknown;
  /** Runs after a message went to the Emitter; the publisher's ack waits for it. */
  published?: (packet: PublishedMessage, client: Client | null, callback: Callback<void>) => unknown;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** Calls a hook in whichever of the three styles it uses and settles once. */
export function callHook<T>(hook: (...args: never[]) => unknown, thisArg: unknown, args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const callback: Callback<T> = (error, result) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(result as T);
    };
    try {
      const returned = (hook as (...a: unknown[]) => unknown).apply(thisArg, [...args, callback]);
      if (isThenable(returned)) {
        returned.then((value) => callback(null, value as T), (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
      } else if (returned !== undefined) {
        callback(null, returned as T);
      }
    } catch (error) {
      callback(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

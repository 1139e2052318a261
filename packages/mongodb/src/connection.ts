import { MongoClient, type Db } from 'mongodb';
import type { AdapterLogger } from '@skynet-mqtt/core';

/** Server error codes of a node going away or changing role: the same call succeeds later. */
const TRANSIENT_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

const TRANSIENT_NAMES = new Set(['MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoServerSelectionError', 'MongoPoolClearedError']);

/** Whether `error` means "MongoDB is not reachable right now" (wait and retry), not a bad call. */
export function isTransientError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code, errorLabels } = error as { name?: unknown; code?: unknown; errorLabels?: unknown };
  if (typeof name === 'string' && TRANSIENT_NAMES.has(name)) return true;
  if (typeof code === 'number' && TRANSIENT_CODES.has(code)) return true;
  const labels = Array.isArray(errorLabels) ? errorLabels : errorLabels instanceof Set ? [...errorLabels] : [];
  return labels.includes('RetryableWriteError') || labels.includes('TransientTransactionError');
}

/** A write refused because a unique key is taken (E11000). */
export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 11000;
}

/** Retry back-off: 100 ms, 200 ms, ... capped at 2 s, forever (an outage must not be fatal). */
export function retryDelay(attempt: number): number {
  return Math.min(attempt * 100, 2_000);
}

export class ClosedError extends Error {
  constructor(what: string) {
    super(`${what}: closed`);
  }
}

/**
 * One MongoClient and the retry loop every call goes through: while MongoDB is unreachable a
 * call waits (a QoS 1/2 write must not vanish) and is made again when it is back. The outage is
 * logged once when it starts and once when it ends, not per call. Calls made again must be
 * idempotent, or say what a repeat means (see the Store's calls).
 */
export class MongoConnection {
  readonly client: MongoClient;
  readonly db: Db;
  private downSince = 0;
  private closed = false;
  private readonly wakers = new Set<() => void>();

  constructor(
    url: string,
    database: string,
    driverOptions: object,
    private readonly label: string,
    private readonly logger: AdapterLogger,
  ) {
    this.client = new MongoClient(url, driverOptions);
    this.db = this.client.db(database);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs `call` until it succeeds, waiting out outages; rejects on other errors or once closed. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new ClosedError(this.label);
      try {
        const result = await call();
        this.restored();
        return result;
      } catch (error) {
        if (this.closed) throw new ClosedError(this.label);
        if (!isTransientError(error)) throw error;
        this.lost(error as Error);
        await this.pause(retryDelay(attempt));
      }
    }
  }

  /** Waits `ms`, or less if the connection is closed meanwhile. */
  pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  /**
   * One `ping` command, not retried: the health check of the admin listener. Rejects at once while
   * calls are known to be waiting out an outage.
   */
  async ping(): Promise<void> {
    if (this.closed) throw new ClosedError(this.label);
    if (this.downSince !== 0) throw new Error(`${this.label}: MongoDB unreachable since ${new Date(this.downSince).toISOString()}`);
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of [...this.wakers]) wake();
    await this.client.close();
  }

  private lost(error: Error): void {
    if (this.downSince !== 0) return;
    this.downSince = Date.now();
    this.logger.warn(`${this.label}: MongoDB unreachable (${error.message}); calls wait and are made again when it is back`);
  }

  private restored(): void {
    if (this.downSince === 0) return;
    this.logger.info(`${this.label}: MongoDB reachable again after ${Date.now() - this.downSince} ms`);
    this.downSince = 0;
  }
}

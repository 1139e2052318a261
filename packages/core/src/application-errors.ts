import type { Logger } from 'pino';

/**
 * Exceptions from application code (an event listener, a hook, a callback) are application bugs:
 * logged at `error` with their stack and handed to `emitError` (the server's `error` event, when
 * something listens), never thrown into the broker, where they would cost a client its connection.
 */
export class ApplicationErrors {
  constructor(
    private readonly logger: Logger,
    /** Emits the error where the application hears it; false when nothing listens. */
    private readonly emitError: (error: Error) => boolean,
  ) {}

  report(error: unknown, source: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.logger.error({ err, source }, `${source} threw: ${err.message}`);
    try {
      this.emitError(err);
    } catch (thrown) {
      this.logger.error({ err: thrown }, 'an error listener threw');
    }
  }

  /** Calls an application callback; what it throws is reported. */
  guard(source: string, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.report(error, source);
    }
  }

  /** Calls every listener of `event` even when one throws. */
  callEach(event: string | symbol, listeners: readonly ((...args: unknown[]) => unknown)[], thisArg: unknown, args: unknown[]): void {
    for (const listener of listeners) this.guard(`a '${String(event)}' listener`, () => listener.apply(thisArg, args));
  }
}

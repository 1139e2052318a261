import type { Logger } from 'pino';

/** Whether an error says the process (EMFILE) or the system (ENFILE) has no file descriptor left. */
export function isDescriptorExhaustion(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * Out of file descriptors, a broker must keep serving the connections it has: the listeners refuse
 * new sockets (libuv accepts and closes them), periodic work skips what needs a descriptor, and
 * everything resumes once descriptors are free. This logs the episode once when it starts and once
 * when it ends, not once per refused socket.
 */
export class DescriptorGuard {
  private exhaustedSince = 0;
  private failures = 0;

  constructor(private readonly logger: Logger) {}

  /** Handles `error` if it is descriptor exhaustion (true), met at `where` (a listener, the `$SYS` timer...). */
  handle(error: unknown, where: string): boolean {
    if (!isDescriptorExhaustion(error)) return false;
    this.failures++;
    if (this.exhaustedSince === 0) {
      this.exhaustedSince = Date.now();
      this.logger.error(
        { code: (error as NodeJS.ErrnoException).code, where },
        'out of file descriptors: new connections are refused, open ones are still served. Raise the limit (ulimit -n, LimitNOFILE) or lower maxConnections',
      );
    }
    return true;
  }

  /** A connection was accepted: descriptors are available again. */
  accepted(): void {
    if (this.exhaustedSince === 0) return;
    this.logger.warn({ failedAccepts: this.failures, afterMs: Date.now() - this.exhaustedSince }, 'file descriptors available again: accepting new connections');
    this.exhaustedSince = 0;
    this.failures = 0;
  }
}

import type { Logger } from 'pino';
import type { DescriptorGuard } from '../listeners/descriptor-guard.js';
import type { Store } from './store.js';
import { unref } from '../timers.js';

/**
 * Calls `store.sweepExpired()` every `interval` ms, so that durable sessions whose clients never
 * return do not pile up (each holds its subscriptions and queue until then). One sweep at a time;
 * a failed one is logged and the next one tries again.
 */
export class SessionSweeper {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    interval: number,
    private readonly logger: Logger,
    private readonly descriptors: DescriptorGuard,
  ) {
    this.timer = setInterval(() => this.sweep(), interval);
    unref(this.timer);
  }

  private sweep(): void {
    if (this.running) return;
    this.running = this.store
      .sweepExpired()
      .then(
        (swept) => {
          if (swept > 0) this.logger.info({ swept }, 'expired durable sessions forgotten');
        },
        (error: unknown) => {
          if (!this.descriptors.handle(error, 'session sweep')) this.logger.warn({ err: error }, 'could not sweep expired sessions');
        },
      )
      .finally(() => (this.running = null));
  }

  /** Stops the timer and waits for a sweep in progress, so that the Store can be closed. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

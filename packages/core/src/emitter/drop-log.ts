import type { AdapterLogger } from '../adapter-options.js';
import { unref } from '../timers.js';

/**
 * An Emitter adapter's QoS 0 drops (what it could not pass to its backend), in its log: a flood of
 * drops as a few lines: the first drop at once, then at most one line per
 * interval with the number dropped since the previous line; the last of them is logged when its
 * interval ends, so no drop goes unreported in the log for long.
 */
export class DropLog {
  private unlogged = 0;
  private loggedAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: AdapterLogger,
    /** The line for `count` drops. */
    private readonly line: (count: number) => string,
    private readonly intervalMs = 10_000,
  ) {}

  dropped(): void {
    this.unlogged++;
    if (this.timer) return;
    const wait = this.loggedAt + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = unref(setTimeout(() => this.flush(), wait));
  }

  /** Logs what was dropped since the last line, if anything (also on close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.unlogged === 0) return;
    this.logger.warn(this.line(this.unlogged));
    this.unlogged = 0;
    this.loggedAt = Date.now();
  }
}

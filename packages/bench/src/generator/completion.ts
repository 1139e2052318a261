// Ends a measurement: at once when the receivers have everything (called from the frame
// handler, so the window closes on the last delivery, not on a polling tick), or when deliveries
// stop for `idleMs` (loss), or at the hard timeout.
import { Meter, type Window } from '../meter.js';

export type Ending = 'done' | 'idle' | 'timeout';

export class Completion {
  readonly ended: Promise<Ending>;
  window: Window | undefined;
  /** Seconds from start to the last observed progress (the figure's denominator after an idle end). */
  activeSeconds = 0;
  private settle: (e: Ending) => void = () => {};
  private poll: NodeJS.Timeout | undefined;
  private t0 = 0n;
  private lastCount = -1;
  private lastChange = 0n;
  private readonly meter: Meter;

  constructor(
    brokerPids: readonly number[],
    private readonly progress: () => number,
    private readonly idleMs: number,
    private readonly timeoutMs: number,
  ) {
    this.meter = new Meter(brokerPids);
    this.ended = new Promise((resolve) => (this.settle = resolve));
  }

  /** Opens the window (idempotent). */
  start(): void {
    if (this.poll) return;
    this.meter.start();
    this.t0 = process.hrtime.bigint();
    this.lastChange = this.t0;
    this.poll = setInterval(() => this.check(), 20);
  }

  /** Everything arrived. */
  done(): void {
    if (this.window) return;
    this.activeSeconds = Number(process.hrtime.bigint() - this.t0) / 1e9;
    this.finish('done');
  }

  private check(): void {
    const now = process.hrtime.bigint();
    const count = this.progress();
    if (count !== this.lastCount) {
      this.lastCount = count;
      this.lastChange = now;
    }
    if (Number(now - this.lastChange) / 1e6 > this.idleMs) {
      this.activeSeconds = Number(this.lastChange - this.t0) / 1e9;
      this.finish('idle');
    } else if (Number(now - this.t0) / 1e6 > this.timeoutMs) {
      this.activeSeconds = Number(now - this.t0) / 1e9;
      this.finish('timeout');
    }
  }

  private finish(e: Ending): void {
    if (this.window) return;
    this.window = this.meter.stop();
    clearInterval(this.poll);
    this.settle(e);
  }
}

/** What a takeover signal says: a connection with this client id got its CONNACK, stamped so. */
export interface TakeoverSignal {
  clientId: string;
  stamp: number;
}

/**
 * Orders the connections that take one client id on different broker instances. Each is stamped
 * when it takes the id, on a clock kept ahead of every stamp this instance has heard of (the
 * wall-clock time in microseconds, fine enough that two instances rarely tie, or one more than
 * the last): a connection that knows of another is always later than it. Of two connections the
 * later stamp keeps the id, and a tie goes to the larger broker id, so every instance decides alike
 * and exactly one survives.
 */
export class TakeoverClock {
  private last = 0;

  stamp(): number {
    const now = Math.round((performance.timeOrigin + performance.now()) * 1000);
    this.last = now > this.last ? now : this.last + 1;
    return this.last;
  }

  encode(signal: TakeoverSignal): string {
    return JSON.stringify(signal);
  }

  /** Reads another instance's signal and keeps the clock ahead of it; null when it is unreadable. */
  decode(payload: Buffer): TakeoverSignal | null {
    let signal: TakeoverSignal;
    try {
      signal = JSON.parse(payload.toString()) as TakeoverSignal;
    } catch {
      return null;
    }
    if (typeof signal?.clientId !== 'string' || typeof signal.stamp !== 'number') return null;
    if (signal.stamp > this.last) this.last = signal.stamp;
    return signal;
  }

  /** Whether a connection stamped `mine` here yields to one stamped `theirs` on broker `theirBroker`. */
  static yields(mine: number, myBroker: string, theirs: number, theirBroker: string): boolean {
    return mine < theirs || (mine === theirs && myBroker < theirBroker);
  }
}

/**
 * A token bucket: `rate` tokens a second, at most `burst` saved up. Time is read only when tokens
 * are taken, so an idle bucket costs nothing.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt = performance.now();

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
  }

  /** Takes `n` tokens if there are that many; takes nothing and returns false otherwise. */
  tryTake(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Takes `n` tokens whatever there is, going into debt: for what has already happened (a packet
   * read). Returns the milliseconds until the debt is repaid, 0 when there was none.
   */
  take(n: number): number {
    this.refill();
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate;
  }

  /** Milliseconds until the bucket is out of debt, 0 when it is not in debt. */
  debtMs(): number {
    this.refill();
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate;
  }
}

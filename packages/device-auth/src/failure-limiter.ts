/** Keys tracked at most; beyond it the oldest window is forgotten, so memory stays bounded. */
const MAX_KEYS = 100_000;

/**
 * Failed authentications per key (a uuid, a source address) in fixed windows: once a key has
 * `max` failures in its window, it is blocked until the window ends and attempts are refused
 * without looking at the credentials, so guessing costs no hashing and gains nothing.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private current(key: string): { start: number; failures: number } | undefined {
    const entry = this.windows.get(key);
    if (entry && this.now() - entry.start >= this.windowMs) {
      this.windows.delete(key);
      return undefined;
    }
    return entry;
  }

  blocked(key: string): boolean {
    return (this.current(key)?.failures ?? 0) >= this.max;
  }

  fail(key: string): void {
    const entry = this.current(key);
    if (entry) {
      entry.failures++;
      return;
    }
    if (this.windows.size >= MAX_KEYS) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(key, { start: this.now(), failures: 1 });
  }

  /** A success clears the key (a device that got its token right is not punished later). */
  clear(key: string): void {
    this.windows.delete(key);
  }
}

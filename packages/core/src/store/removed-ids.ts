/**
 * The ids of messages recently removed from one client's offline queue, which `Store.enqueue`
 * still refuses: at most `max` of them, each for `ttlMs`, the oldest forgotten first. For Stores
 * that keep this in memory (a late duplicate comes from instances running at the same time, so it
 * need not survive a restart).
 */
export class RemovedIds {
  private readonly removedAt = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  add(id: string, now = Date.now()): void {
    if (id === '') return;
    this.removedAt.delete(id); // re-inserted: Map order is removal order
    this.removedAt.set(id, now);
    for (const [oldest, at] of this.removedAt) {
      if (this.removedAt.size <= this.max && now - at < this.ttlMs) break;
      this.removedAt.delete(oldest);
    }
  }

  has(id: string, now = Date.now()): boolean {
    const at = this.removedAt.get(id);
    return at !== undefined && now - at < this.ttlMs;
  }
}

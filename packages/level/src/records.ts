import { checkRecordName, DEFAULT_RECORD_PAGE, type RecordPage, type StoredRecord } from '@skynet-mqtt/core';
import type { Database, Operation } from './database.js';
import { recordBase } from './keys.js';

/** Runs a task under the store's lock for `key` (LevelStore's exclusive section). */
type Exclusive = <T>(key: string, task: () => Promise<T>) => Promise<T>;

/** A record on disk: its expiry (ms since the epoch as a float64, 0 for none), then the value. */
function encode(value: Buffer, expiresAt: number | undefined): Buffer {
  const head = Buffer.alloc(8);
  head.writeDoubleBE(expiresAt ?? 0);
  return Buffer.concat([head, value]);
}

function expired(stored: Buffer, now: number): boolean {
  const expiresAt = stored.readDoubleBE(0);
  return expiresAt !== 0 && expiresAt <= now;
}

/**
 * The Store's records (putRecord and its siblings) in the `records` space, one key per record
 * (see keys.ts). Expiry is checked on read; expired records met while listing are deleted then.
 * Writes of one collection are serialised so that deleteRecords counts exactly.
 */
export class LevelRecords {
  constructor(
    private readonly db: Database,
    private readonly exclusive: Exclusive,
  ) {}

  private lock<T>(collection: string, task: () => Promise<T>): Promise<T> {
    return this.exclusive(`rec\u0000${collection}`, task);
  }

  async put(collection: string, key: string, value: Buffer, expiresAt?: number): Promise<void> {
    checkRecordName(collection, key);
    // Synced: a record is an administrative act (a device registered, a token revoked).
    return this.lock(collection, () => this.db.put(recordBase(collection) + key, encode(value, expiresAt), { sync: true }));
  }

  async get(collection: string, key: string): Promise<Buffer | null> {
    checkRecordName(collection, key);
    const stored = await this.db.get(recordBase(collection) + key);
    return stored === undefined || expired(stored, Date.now()) ? null : stored.subarray(8);
  }

  async delete(collection: string, keys: readonly string[]): Promise<number> {
    checkRecordName(collection);
    for (const key of keys) checkRecordName(collection, key);
    return this.lock(collection, async () => {
      const now = Date.now();
      const base = recordBase(collection);
      const found = await this.db.getMany(keys.map((key) => base + key));
      const ops: Operation[] = keys.map((key) => ({ type: 'del', key: base + key }));
      if (ops.length > 0) await this.db.batch(ops, { sync: true });
      return found.filter((stored) => stored !== undefined && !expired(stored, now)).length;
    });
  }

  async list(collection: string, page: RecordPage = {}): Promise<StoredRecord[]> {
    checkRecordName(collection);
    const { prefix = '', after, limit = DEFAULT_RECORD_PAGE } = page;
    const base = recordBase(collection);
    const start = base + prefix;
    const range = after !== undefined && Buffer.compare(Buffer.from(after), Buffer.from(prefix)) >= 0 ? { gt: base + after } : { gte: start };
    const now = Date.now();
    const found: StoredRecord[] = [];
    const gone: Operation[] = [];
    // The collection's keys end before `<base without its \0>\1`; the prefix check ends it earlier.
    for await (const [fullKey, stored] of this.db.iterator({ ...range, lt: `${base.slice(0, -1)}\u0001` })) {
      if (!fullKey.startsWith(start) || found.length >= limit) break;
      if (expired(stored, now)) gone.push({ type: 'del', key: fullKey });
      else found.push({ key: fullKey.slice(base.length), value: stored.subarray(8) });
    }
    if (gone.length > 0) await this.lock(collection, () => this.db.batch(gone, { sync: false }));
    return found;
  }
}

import type { RecordPage, StoredRecord } from '../types.js';
import { checkRecordName, DEFAULT_RECORD_PAGE } from './store.js';

interface Entry {
  value: Buffer;
  /** 0: never expires. */
  expiresAt: number;
}

/** Compares keys by their UTF-8 bytes, the order every Store lists records in. */
function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The records of the memory Store (Store.putRecord and its siblings); expiry is checked on read. */
export class RecordTable {
  private readonly collections = new Map<string, Map<string, Entry>>();

  put(collection: string, key: string, value: Buffer, expiresAt?: number): void {
    checkRecordName(collection, key);
    let records = this.collections.get(collection);
    if (!records) this.collections.set(collection, (records = new Map()));
    // Copied: the caller may reuse its buffer.
    records.set(key, { value: Buffer.from(value), expiresAt: expiresAt ?? 0 });
  }

  /** The live entry, forgetting it when it expired. */
  private live(collection: string, key: string, now = Date.now()): Entry | undefined {
    const records = this.collections.get(collection);
    const entry = records?.get(key);
    if (entry && entry.expiresAt !== 0 && entry.expiresAt <= now) {
      records!.delete(key);
      return undefined;
    }
    return entry;
  }

  get(collection: string, key: string): Buffer | null {
    checkRecordName(collection, key);
    const entry = this.live(collection, key);
    return entry ? Buffer.from(entry.value) : null;
  }

  delete(collection: string, keys: readonly string[]): number {
    checkRecordName(collection);
    let deleted = 0;
    for (const key of keys) {
      checkRecordName(collection, key);
      if (this.live(collection, key)) {
        this.collections.get(collection)!.delete(key);
        deleted++;
      }
    }
    return deleted;
  }

  list(collection: string, page: RecordPage = {}): StoredRecord[] {
    checkRecordName(collection);
    const { prefix = '', after, limit = DEFAULT_RECORD_PAGE } = page;
    const now = Date.now();
    const keys = [...(this.collections.get(collection)?.keys() ?? [])]
      .filter((key) => key.startsWith(prefix) && (after === undefined || byUtf8(key, after) > 0))
      .sort(byUtf8);
    const found: StoredRecord[] = [];
    for (const key of keys) {
      if (found.length >= limit) break;
      const entry = this.live(collection, key, now);
      if (entry) found.push({ key, value: Buffer.from(entry.value) });
    }
    return found;
  }

  clear(): void {
    this.collections.clear();
  }
}

import type { Store } from '@skynet-mqtt/core';
import { decodeRecord, encodeRecord, type DeviceRecord } from './records.js';

/** What is kept of a session token; its HMAC is the second half of its record key. */
export interface SessionToken {
  tag?: string;
  /** Milliseconds since the epoch; the token stops working then. */
  expiresAt?: number;
  createdAt: string;
}

export interface StoredToken extends SessionToken {
  digest: string;
}

/** Record collections of the Store (see Store.putRecord). */
const DEVICES = 'devices';
const TOKENS = 'device-tokens';

/**
 * The device registry on any Store's records: one record per device (key: uuid), one per session
 * token (key: `<uuid>/<HMAC of the token>`, expiring with the token), so checking a session token
 * is one read and a device's tokens are one prefix listing. Nothing here holds a token in clear.
 */
export class DeviceRegistry {
  constructor(private readonly store: Store) {}

  async get(uuid: string): Promise<DeviceRecord | null> {
    const value = await this.store.getRecord(DEVICES, uuid);
    return value ? decodeRecord(value) : null;
  }

  put(record: DeviceRecord): Promise<void> {
    return this.store.putRecord(DEVICES, record.uuid, encodeRecord(record));
  }

  async list(after?: string, limit = 100): Promise<DeviceRecord[]> {
    return (await this.store.listRecords(DEVICES, { after, limit })).map((r) => decodeRecord(r.value));
  }

  /** Forgets the device and every session token of it; resolves to whether it existed. */
  async delete(uuid: string): Promise<boolean> {
    const tokens = await this.tokens(uuid);
    await this.deleteTokens(uuid, tokens.map((t) => t.digest));
    return (await this.store.deleteRecords(DEVICES, [uuid])) > 0;
  }

  putToken(uuid: string, digest: string, token: SessionToken): Promise<void> {
    return this.store.putRecord(TOKENS, `${uuid}/${digest}`, Buffer.from(JSON.stringify(token)), token.expiresAt);
  }

  async getToken(uuid: string, digest: string): Promise<SessionToken | null> {
    const value = await this.store.getRecord(TOKENS, `${uuid}/${digest}`);
    return value ? (JSON.parse(value.toString()) as SessionToken) : null;
  }

  /** Every live session token of a device (all pages). */
  async tokens(uuid: string): Promise<StoredToken[]> {
    const found: StoredToken[] = [];
    const prefix = `${uuid}/`;
    let after: string | undefined;
    for (;;) {
      const page = await this.store.listRecords(TOKENS, { prefix, after, limit: 500 });
      for (const { key, value } of page) found.push({ digest: key.slice(prefix.length), ...(JSON.parse(value.toString()) as SessionToken) });
      if (page.length < 500) return found;
      after = page[page.length - 1]!.key;
    }
  }

  /** Deletes session tokens by HMAC; resolves to how many existed. */
  deleteTokens(uuid: string, digests: readonly string[]): Promise<number> {
    return this.store.deleteRecords(TOKENS, digests.map((d) => `${uuid}/${d}`));
  }
}

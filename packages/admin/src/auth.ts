import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { verifySecret } from '@skynet-mqtt/core';

/** How a request's credential was judged. */
export type Verdict = 'ok' | 'missing' | 'denied' | 'throttled' | 'off';

/** Failed attempts per source address within FAILURE_WINDOW_MS before it is answered 429. */
const MAX_FAILURES = 10;
const FAILURE_WINDOW_MS = 60_000;
/** A verified token is not hashed again (scrypt costs tens of ms) for this long. */
const VERIFIED_TTL_MS = 60_000;
/** Bound of the failure table, so a scan from many addresses cannot grow it without limit. */
const MAX_TRACKED = 10_000;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

function addressOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * The admin credential: `Authorization: Bearer <token>`, checked against the scrypt hash in
 * `admin.secretHash`. Tokens that passed are remembered by their SHA-256 for a minute; an address
 * with too many failures is refused (429) for the rest of the minute without hashing anything.
 */
export class AdminAuth {
  private readonly verified = new Map<string, number>();
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly secretHash: string | undefined) {}

  get enabled(): boolean {
    return this.secretHash !== undefined;
  }

  async check(req: IncomingMessage): Promise<Verdict> {
    if (!this.secretHash) return 'off';
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!match) return 'missing';
    const now = Date.now();
    // A token verified a moment ago passes even from a throttled address (the admin behind the same NAT).
    const key = digest(match[1]!);
    if ((this.verified.get(key) ?? 0) > now) return 'ok';
    const address = addressOf(req);
    const failed = this.failures.get(address);
    if (failed && now - failed.since < FAILURE_WINDOW_MS && failed.count >= MAX_FAILURES) return 'throttled';
    if (await verifySecret(match[1]!, this.secretHash)) {
      this.verified.clear(); // one token: only the latest verification is kept
      this.verified.set(key, now + VERIFIED_TTL_MS);
      return 'ok';
    }
    this.recordFailure(address, now);
    return 'denied';
  }

  private recordFailure(address: string, now: number): void {
    const entry = this.failures.get(address);
    if (entry && now - entry.since < FAILURE_WINDOW_MS) {
      entry.count++;
      return;
    }
    if (this.failures.size >= MAX_TRACKED) {
      for (const [key, old] of this.failures) if (now - old.since >= FAILURE_WINDOW_MS) this.failures.delete(key);
      if (this.failures.size >= MAX_TRACKED) this.failures.delete(this.failures.keys().next().value!);
    }
    this.failures.set(address, { count: 1, since: now });
  }
}

import { verifySecret } from '@skynet-mqtt/core';
import { FailureLimiter } from './failure-limiter.js';
import { ROOT, type Identity } from './identity.js';
import type { AdminIdentity, DeviceAuthOptions } from './options.js';
import { isUuid } from './records.js';
import type { DeviceRegistry } from './registry.js';
import { digest } from './tokens.js';

type Verified = Exclude<Identity, { kind: 'anonymous' }>;

export type Verdict = { ok: true; identity: Verified } | { ok: false; reason: 'throttled' | 'unknown identity' | 'wrong secret' };

/** Verified credentials remembered at most; beyond it the oldest is forgotten. */
const MAX_CACHED = 50_000;

/**
 * Checks a username and secret: an admin name with its secret, or a device uuid with its root
 * token (scrypt) or a session token (one Store read by HMAC). Failures are counted per username
 * and per source address (FailureLimiter); a blocked one is refused before any hashing. Verified
 * results are cached for `cacheTtl`, keyed by an HMAC of the credentials, never the secret itself.
 */
export class CredentialCheck {
  private readonly limiter: FailureLimiter;
  private readonly cache = new Map<string, { identity: Verified; until: number; username: string }>();
  /** Cache keys per username, so a revocation forgets them at once. */
  private readonly cachedBy = new Map<string, Set<string>>();
  private readonly admins: Map<string, AdminIdentity>;

  constructor(
    private readonly options: DeviceAuthOptions,
    private readonly registry: DeviceRegistry,
    now: () => number = Date.now,
  ) {
    this.limiter = new FailureLimiter(options.maxFailures, options.failureWindow, now);
    this.admins = new Map(options.admins.map((a) => [a.name, a]));
  }

  async check(username: string, secret: string, address: string): Promise<Verdict> {
    const keys = [`u:${username}`, `a:${address}`];
    if (keys.some((key) => this.limiter.blocked(key))) return { ok: false, reason: 'throttled' };
    const cacheKey = digest(this.options.secret, 'verified', username, secret);
    const cached = this.cache.get(cacheKey);
    const now = Date.now();
    if (cached && cached.until > now && !expired(cached.identity, now)) return { ok: true, identity: cached.identity };

    const identity = await this.verify(username, secret, now);
    if (!identity) {
      for (const key of keys) this.limiter.fail(key);
      return { ok: false, reason: this.admins.has(username) || isUuid(username) ? 'wrong secret' : 'unknown identity' };
    }
    this.limiter.clear(keys[0]!);
    this.remember(username, cacheKey, identity);
    return { ok: true, identity };
  }

  private async verify(username: string, secret: string, now: number): Promise<Verified | null> {
    const admin = this.admins.get(username);
    if (admin) return (await verifySecret(secret, admin.secretHash)) ? { kind: 'admin', name: admin.name } : null;
    if (!isUuid(username)) return null;
    const hmac = digest(this.options.secret, secret);
    const [session, record] = await Promise.all([this.registry.getToken(username, hmac), this.registry.get(username)]);
    if (!record) return null;
    if (session) {
      // The Store drops an expired record, but the expiry stated in it is what counts.
      if (session.expiresAt !== undefined && session.expiresAt <= now) return null;
      return { kind: 'device', uuid: username, credential: hmac, expiresAt: session.expiresAt };
    }
    return (await verifySecret(secret, record.rootTokenHash)) ? { kind: 'device', uuid: username, credential: ROOT } : null;
  }

  private remember(username: string, cacheKey: string, identity: Verified): void {
    if (this.options.cacheTtl === 0) return;
    if (this.cache.size >= MAX_CACHED) {
      const [oldest, entry] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      this.cachedBy.get(entry.username)?.delete(oldest);
    }
    this.cache.set(cacheKey, { identity, until: Date.now() + this.options.cacheTtl, username });
    let keys = this.cachedBy.get(username);
    if (!keys) this.cachedBy.set(username, (keys = new Set()));
    keys.add(cacheKey);
  }

  /** Forgets every cached verification of `username` (a device changed, a token revoked). */
  forget(username: string): void {
    for (const key of this.cachedBy.get(username) ?? []) this.cache.delete(key);
    this.cachedBy.delete(username);
  }
}

function expired(identity: Verified, now: number): boolean {
  return identity.kind === 'device' && identity.expiresAt !== undefined && identity.expiresAt <= now;
}

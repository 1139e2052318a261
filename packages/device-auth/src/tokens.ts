import { createHmac, randomBytes } from 'node:crypto';

/** A new token: 32 random bytes, base64url. Shown once, at creation; never stored or logged. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** HMAC-SHA256 of `parts` keyed with the server secret, hex: how a token is looked up and cached. */
export function digest(secret: string, ...parts: string[]): string {
  return createHmac('sha256', secret).update(parts.join('\u0000')).digest('hex');
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `1h`, `30d` or a number of milliseconds, as milliseconds; null when malformed. */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : null;
  const match = typeof value === 'string' ? /^(\d+)([smhd])$/.exec(value) : null;
  if (!match) return null;
  const ms = Number(match[1]) * UNITS[match[2]!]!;
  return ms > 0 ? ms : null;
}

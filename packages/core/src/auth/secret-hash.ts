import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Slow hashes of secrets (passwords, root tokens, admin secrets) as one self-describing string:
 * `scrypt$<N>$<r>$<p>$<salt, base64url>$<hash, base64url>`. The parameters travel with the hash, so
 * they can be raised later without invalidating what is stored.
 */
const SCHEME = 'scrypt';
/** N = 2^14, r = 8: 16 MiB and a few tens of milliseconds per hash on a server core. */
const DEFAULT = { N: 16_384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

function derive(secret: string | Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keylen, { ...options, maxmem: 256 * options.N! * options.r! }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parse(stored: string): ParsedHash | null {
  const parts = typeof stored === 'string' ? stored.split('$') : [];
  if (parts.length !== 6 || parts[0] !== SCHEME) return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const hash = Buffer.from(parts[5]!, 'base64url');
  const powerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || !(r >= 1 && r <= 32) || !(p >= 1 && p <= 16) || salt.length < 8 || hash.length < 16) return null;
  return { N, r, p, salt, hash };
}

/** Why `stored` is not a hash made by hashSecret, or null. */
export function secretHashError(stored: unknown): string | null {
  if (typeof stored === 'string' && parse(stored)) return null;
  return 'must be a hash made by skynet-mqtt (scrypt$N$r$p$salt$hash), never a secret in clear';
}

/** Hashes a secret with a fresh random salt. */
export async function hashSecret(secret: string | Buffer): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(secret, salt, HASH_BYTES, DEFAULT);
  return [SCHEME, DEFAULT.N, DEFAULT.r, DEFAULT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** Whether `secret` hashes to `stored` (compared in constant time); false for a malformed hash. */
export async function verifySecret(secret: string | Buffer, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const { N, r, p, salt, hash } = parsed;
  const candidate = await derive(secret, salt, hash.length, { N, r, p });
  return timingSafeEqual(candidate, hash);
}

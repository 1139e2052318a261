/** Keys whose values are secrets wherever they appear in the configuration. */
const SECRET_KEY = /pass(word|phrase)?|secret|token|^key$|^pfx$|^auth$/i;
export const MASK = '***';

/** `scheme://user:password@host` with the password masked. */
function maskUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, `$1${MASK}@`);
}

/**
 * A copy of the configuration fit to show: secrets masked (passwords, tokens, TLS keys, hashes,
 * passwords inside URLs), functions and class instances (a Store passed as an object, a logger)
 * named rather than serialized.
 */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (key && SECRET_KEY.test(key) && value !== undefined && value !== null && value !== false) return MASK;
  if (typeof value === 'string') return maskUrl(value);
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item));
  if (value !== null && typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (prototype !== Object.prototype && prototype !== null) return `[${(value.constructor as { name?: string } | undefined)?.name ?? 'object'}]`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}

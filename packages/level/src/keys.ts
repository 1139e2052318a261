/**
 * The key layout, in one place. Every key is a UTF-8 string `!<space>!<rest>` (the prefix
 * convention of abstract-level sublevels), so each space is one contiguous key range:
 *
 *   !meta!format                          "1"             layout version
 *   !retained!<topic>                     Message
 *   !sessions!<clientId>                  SessionRecord
 *   !subscriptions!<cid>\0<filter>        QoS byte
 *   !queue!<cid>\0<seq, 16 digits>        QueueEntry      offline queue, oldest first
 *   !queued!<cid>\0<message id>           (empty)         the message ids the queue holds
 *   !outgoing!<cid>\0<seq, 16 digits>     OutgoingEntry   in first-sent order
 *   !incoming!<cid>\0<messageId, 5 digits> (empty)
 *   !wills!<clientId>                     Message
 *   !records!<collection>\0<key>          expiry (float64) + value   Store.putRecord
 *
 * `<cid>` is the client id with \0 and \1 escaped, so `<cid>\0` never prefixes another client's
 * keys; one client's entries of a space are then the range [`<cid>\0`, `<cid>\1`).
 */

export type Space = 'meta' | 'retained' | 'sessions' | 'subscriptions' | 'queue' | 'queued' | 'outgoing' | 'incoming' | 'wills' | 'records';

export interface Range {
  gte: string;
  lt: string;
}

export function prefix(space: Space): string {
  return `!${space}!`;
}

/** Every key of a space: '"' is the character after '!'. */
export function spaceRange(space: Space): Range {
  return { gte: `!${space}!`, lt: `!${space}"` };
}

/** Keys whose space holds one value per name (retained topic, session, will). */
export function nameKey(space: 'meta' | 'retained' | 'sessions' | 'wills', name: string): string {
  return prefix(space) + name;
}

// \1 first, so the \1 produced by escaping \0 is not escaped again.
function escapeClientId(clientId: string): string {
  return clientId.replace(/\u0001/g, '\u0001\u0002').replace(/\u0000/g, '\u0001\u0001');
}

function unescapeClientId(escaped: string): string {
  return escaped.replace(/\u0001([\u0001\u0002])/g, (_, c: string) => (c === '\u0001' ? '\u0000' : '\u0001'));
}

type ClientSpace = 'subscriptions' | 'queue' | 'queued' | 'outgoing' | 'incoming';

/** All of one client's keys in a per-client space. */
export function clientRange(space: ClientSpace, clientId: string): Range {
  const base = prefix(space) + escapeClientId(clientId);
  return { gte: `${base}\u0000`, lt: `${base}\u0001` };
}

export function clientKey(space: ClientSpace, clientId: string, suffix: string): string {
  return `${prefix(space)}${escapeClientId(clientId)}\u0000${suffix}`;
}

/** Splits a per-client key back into client id and suffix. */
export function parseClientKey(space: ClientSpace, key: string): { clientId: string; suffix: string } {
  const rest = key.slice(prefix(space).length);
  const separator = rest.indexOf('\u0000');
  return { clientId: unescapeClientId(rest.slice(0, separator)), suffix: rest.slice(separator + 1) };
}

const SEQUENCE_DIGITS = 16;

/** Zero-padded so that lexicographic key order is numeric order (up to 2^53). */
export function sequence(n: number): string {
  return n.toString().padStart(SEQUENCE_DIGITS, '0');
}

/**
 * The id peekQueue gives a queued message: its sequence, then its message id, so that removing
 * it finds both of its keys without reading it.
 */
export function queuedId(seq: string, messageId: string): string {
  return seq + messageId;
}

export function parseQueuedId(id: string): { seq: string; messageId: string } {
  return { seq: id.slice(0, SEQUENCE_DIGITS), messageId: id.slice(SEQUENCE_DIGITS) };
}

export function messageIdSuffix(messageId: number): string {
  return messageId.toString().padStart(5, '0');
}

/** What every key of a record collection starts with (collection names hold no \0, see recordNameError). */
export function recordBase(collection: string): string {
  return `${prefix('records')}${collection}\u0000`;
}

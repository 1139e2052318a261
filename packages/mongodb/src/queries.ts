import type { Document, IndexDescription } from 'mongodb';
import { matchingFilter, packSubscription, topicMatches, type Subscription } from '@skynet-mqtt/core';
import type { MessageDocument } from './documents.js';

/**
 * Key and index design, queries and update pipelines of the MongoDB Store, as pure functions:
 * unit-tested here, run against a server wherever MONGO_URL is set.
 *
 * Every Store call that must be atomic changes ONE document (MongoDB makes a single-document
 * write atomic on any deployment, standalone included): a session's subscriptions, connected
 * flag, expiry, incoming QoS 2 ids and counters live in its `sessions` document. Queued and
 * in-flight packets are documents of their own, tagged with the session's generation `g`: a
 * session that is deleted or expires gets a new generation, so what the old one left is never
 * read again, even if a crash stopped its removal halfway (TTL indexes remove it in time).
 */

/** The literal levels of a filter before its first wildcard ('a/+/c' → ['a']; '#' → []). */
export function literalLevels(filter: string): string[] {
  const levels = filter.split('/');
  const wildcard = levels.findIndex((level) => level === '+' || level === '#');
  return wildcard === -1 ? levels : levels.slice(0, wildcard);
}

/**
 * The indexed key of a subscription (`subs.l`): the literal levels before the first wildcard of
 * the filter it matches with (`<filter>` of a shared subscription `$share/<group>/<filter>`).
 */
export function subscriptionKey(filter: string): string {
  return literalLevels(matchingFilter(filter)).join('/');
}

/** Whether a stored subscription's filter matches `topic`; a shared one by its `<filter>`. */
export function subscriptionMatches(filter: string, topic: string): boolean {
  return topicMatches(matchingFilter(filter), topic);
}

/**
 * The keys a filter matching `topic` can have: the topic's level prefixes ('' for filters that
 * start with a wildcard). A filter matches the topic only if its key is one of them, so one
 * indexed `$in` finds every candidate; the broker then matches exactly.
 */
export function topicLookupKeys(topic: string): string[] {
  const levels = topic.split('/');
  const keys = new Set<string>(['']);
  for (let i = 1; i <= levels.length; i++) keys.add(levels.slice(0, i).join('/'));
  return [...keys];
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The `retained` query for `filters` (topic = `_id`): exact filters by `$in`, a wildcard filter by
 * an anchored regex on its literal levels (an index range scan), a filter that starts with a
 * wildcard by every topic not starting with '$' [MQTT-4.7.2-1]. A superset: the broker then
 * matches each topic exactly.
 */
export function retainedSelector(filters: readonly string[]): Document {
  const exact = new Set<string>();
  const patterns = new Set<string>();
  for (const filter of filters) {
    const literal = literalLevels(filter);
    if (literal.length === filter.split('/').length) exact.add(filter);
    else if (literal.length === 0) patterns.add('^(?!\\$)');
    else patterns.add(`^${escapeRegex(literal.join('/'))}(?:/|$)`);
  }
  const clauses: Document[] = [];
  if (exact.size > 0) clauses.push({ _id: { $in: [...exact] } });
  for (const pattern of patterns) clauses.push({ _id: { $regex: pattern } });
  if (clauses.length === 0) return { _id: { $in: [] } };
  return clauses.length === 1 ? clauses[0]! : { $or: clauses };
}

/**
 * The `retained` query for the page of `filters` after the topic `after` (retainedSelector, read
 * in `_id` order): each page starts where the last ended, so no server cursor stays open while a
 * slow subscriber drains.
 */
export function retainedPageSelector(filters: readonly string[], after?: string): Document {
  const selector = retainedSelector(filters);
  return after === undefined ? selector : { $and: [selector, { _id: { $gt: after } }] };
}

/**
 * Retained messages whose Message Expiry Interval ran out at `now` (`expires`, ms since the epoch,
 * the brokers' clock), of `topics` when given: what matchRetained and sweepExpired remove. A
 * message stored since with a later expiry, or none, is not selected. [MQTT-3.3.2-5]
 */
export function expiredRetainedSelector(now: number, topics?: readonly string[]): Document {
  const selector: Document = { expires: { $lte: now } };
  if (topics) selector._id = { $in: [...topics] };
  return selector;
}

/** Whether a stored retained message (its `expires`) has expired at `now`: the test matchRetained applies. */
export function retainedExpired(doc: Document, now: number): boolean {
  return typeof doc.expires === 'number' && doc.expires <= now;
}

export function expiry(now: number, ttlMs: number): Date {
  return new Date(now + ttlMs);
}

/** Documents that have not expired: no expiry (a connected session, a record without one), or one still ahead. */
export function notExpired(now: number): Document {
  return { $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date(now) } }] };
}

/**
 * A value for an aggregation expression taken as it is: strings starting with '$' (topics such
 * as '$SYS/#') would otherwise be read as field paths.
 */
export function literal(value: unknown): Document {
  return { $literal: value };
}

/** A stored subscription: filter, granted QoS (with MQTT 5 options: packSubscription), lookup key. */
export interface SubscriptionEntry {
  t: string;
  q: number;
  l: string;
}

export function subscriptionEntry(subscription: Subscription): SubscriptionEntry {
  return { t: subscription.topic, q: packSubscription(subscription), l: subscriptionKey(subscription.topic) };
}

/**
 * Update-pipeline stages that make the session document live: unchanged if it is, otherwise
 * (missing, or expired and not yet removed by the TTL monitor) a new empty session of generation
 * `generation` that expires `ttlMs` after `now` unless it connects. Used with `upsert: true`.
 */
export function ensureSessionStages(now: number, ttlMs: number, generation: string): Document[] {
  const expired = { $and: [{ $eq: [{ $type: '$expiresAt' }, 'date'] }, { $lte: ['$expiresAt', new Date(now)] }] };
  const fresh = '$_fresh';
  return [
    { $set: { _fresh: { $or: [{ $eq: [{ $type: '$gen' }, 'missing'] }, expired] } } },
    {
      $set: {
        gen: { $cond: [fresh, literal(generation), '$gen'] },
        subs: { $cond: [fresh, literal([]), { $ifNull: ['$subs', literal([])] }] },
        inc: { $cond: [fresh, literal([]), { $ifNull: ['$inc', literal([])] }] },
        conn: { $cond: [fresh, null, { $ifNull: ['$conn', null] }] },
        exp: { $cond: [fresh, null, { $ifNull: ['$exp', null] }] },
        seq: { $cond: [fresh, 0, { $ifNull: ['$seq', 0] }] },
        expiresAt: { $cond: [fresh, expiry(now, ttlMs), { $ifNull: ['$expiresAt', null] }] },
      },
    },
    { $unset: '_fresh' },
  ];
}

/** Adds or replaces subscriptions by filter, in one stage (after ensureSessionStages). */
export function addSubscriptionsStage(subscriptions: readonly Subscription[]): Document {
  const entries = subscriptions.map(subscriptionEntry);
  const topics = entries.map((entry) => entry.t);
  return {
    $set: {
      subs: { $concatArrays: [{ $filter: { input: '$subs', cond: { $not: [{ $in: ['$$this.t', literal(topics)] }] } } }, literal(entries)] },
    },
  };
}

/**
 * setConnected as one update pipeline. Connected: owned by `instance`, no expiry. Offline: expires
 * its own interval (`exp`, given now or earlier: MQTT 5's Session Expiry Interval) after `now`,
 * else `ttlMs` after. The interval is kept while connected, for a broker that dies meanwhile.
 */
export function setConnectedStages(instance: string | null, interval: number | undefined, now: number, ttlMs: number): Document[] {
  return [
    { $set: { exp: interval === undefined ? { $ifNull: ['$exp', null] } : literal(interval) } },
    offlineSince(now, ttlMs, instance),
  ];
}

/** The stage that records a session as connected through `instance`, or (null) offline from `now`. */
export function offlineSince(now: number, ttlMs: number, instance: string | null = null): Document {
  if (instance !== null) return { $set: { conn: literal(instance), expiresAt: null } };
  return { $set: { conn: null, expiresAt: { $add: [new Date(now), { $ifNull: ['$exp', ttlMs] }] } } };
}

/** Takes the next number of the session's counter (`seq`): queue order, first-sent order. */
export const NEXT_SEQ_STAGE: Document = { $set: { seq: { $add: ['$seq', 1] } } };

/**
 * Records incoming QoS 2 id `id` with `token` unless it is there. The caller reads the result:
 * the id is new when the entry holds its token, so a write retried after a lost reply still says
 * "new" (a re-sent PUBLISH must be told apart from our own retry, or its message would be lost).
 */
export function putIncomingStage(id: number, token: string): Document {
  return {
    $set: {
      inc: { $cond: [{ $in: [id, '$inc.i'] }, '$inc', { $concatArrays: ['$inc', literal([{ i: id, t: token }])] }] },
    },
  };
}

/**
 * Upserts an in-flight packet (query: client, generation, message id): a live one keeps its
 * first-sent order and expiry when replaced (released after PUBREC); a new or expired one takes
 * `order` and a fresh expiry.
 */
export function putOutgoingStages(message: MessageDocument, released: boolean, order: number, now: number, ttlMs: number): Document[] {
  const live = '$_live';
  return [
    { $set: { _live: { $and: [{ $eq: [{ $type: '$expiresAt' }, 'date'] }, { $gt: ['$expiresAt', new Date(now)] }] } } },
    {
      $set: {
        m: literal(message),
        released: literal(released),
        o: { $cond: [live, '$o', literal(order)] },
        expiresAt: { $cond: [live, '$expiresAt', expiry(now, ttlMs)] },
      },
    },
    { $unset: '_live' },
  ];
}

/** Collection names under the prefix. */
export function collectionNames(prefix: string): { sessions: string; retained: string; queue: string; removed: string; outgoing: string; wills: string; instances: string; records: string } {
  return {
    sessions: `${prefix}sessions`,
    retained: `${prefix}retained`,
    queue: `${prefix}queue`,
    removed: `${prefix}removed`,
    outgoing: `${prefix}outgoing`,
    wills: `${prefix}wills`,
    instances: `${prefix}instances`,
    records: `${prefix}records`,
  };
}

/**
 * The `records` query of listRecords: live records of `collection` whose key starts with `prefix`
 * (an anchored regex: an index range) and comes after `after`. Sorted by key, MongoDB compares
 * strings by their UTF-8 bytes (no collation), the order the Store contract asks for.
 */
export function recordsSelector(collection: string, now: number, prefix?: string, after?: string): Document {
  const key: Document = {};
  if (prefix) key.$regex = `^${escapeRegex(prefix)}`;
  if (after !== undefined) key.$gt = after;
  return { col: collection, ...(Object.keys(key).length > 0 && { key }), ...notExpired(now) };
}

/** A TTL index: MongoDB removes a document once its `expiresAt` has passed (documents with null never). */
const TTL: IndexDescription = { key: { expiresAt: 1 }, name: 'expiresAt_ttl', expireAfterSeconds: 0 };

/**
 * Every index the Store needs, by collection kind. `retained` and `wills` are keyed by `_id`
 * (the topic, the client id): MongoDB's unique primary index.
 */
export const STORE_INDEXES: Readonly<Record<'sessions' | 'queue' | 'removed' | 'outgoing' | 'instances' | 'records', IndexDescription[]>> = {
  sessions: [{ key: { 'subs.l': 1 }, name: 'subs_lookup' }, TTL],
  // One entry per message id: a second enqueue of a message is refused by MongoDB itself, atomically.
  queue: [
    { key: { c: 1, g: 1, s: 1 }, name: 'client_order', unique: true },
    { key: { c: 1, g: 1, id: 1 }, name: 'client_message_id', unique: true, partialFilterExpression: { id: { $gt: '' } } },
    TTL,
  ],
  // Ids of messages lately taken from a queue, which enqueue still refuses (for ttl.packets).
  removed: [{ key: { c: 1, g: 1, id: 1 }, name: 'client_message_id', unique: true }, { key: { c: 1, g: 1, expiresAt: 1 }, name: 'client_age' }, TTL],
  outgoing: [{ key: { c: 1, g: 1, mid: 1 }, name: 'client_message', unique: true }, { key: { c: 1, g: 1, o: 1 }, name: 'client_sent_order' }, TTL],
  instances: [TTL],
  records: [{ key: { col: 1, key: 1 }, name: 'collection_key', unique: true }, TTL],
};

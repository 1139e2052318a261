import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Document } from 'mongodb';
import { topicMatches } from '@skynet-mqtt/core';
import * as Q from '../src/queries.js';
import { messageDocument } from '../src/documents.js';
import { message } from '@skynet-mqtt/contract-tests';

/** Every filter and topic of up to `depth` levels over `levels` (the wildcards too, for filters). */
function combos(levels: string[], depth: number): string[] {
  let current = levels.map((l) => [l]);
  const all = [...current];
  for (let d = 2; d <= depth; d++) {
    current = current.flatMap((c) => levels.map((l) => [...c, l]));
    all.push(...current);
  }
  return all.map((c) => c.join('/'));
}
const TOPICS = combos(['a', 'b', '', '$SYS', 'x.y'], 3);
const FILTERS = combos(['a', 'b', '', '+', '#', '$SYS', 'x.y'], 3).filter((f) => !/#./.test(f));

/** Whether a `retained` selector, as retainedSelector builds them, selects the document of `topic`. */
function selects(selector: Document, topic: string): boolean {
  if (selector.$or) return (selector.$or as Document[]).some((clause) => selects(clause, topic));
  const id = selector._id as { $in?: string[]; $regex?: string };
  if (id.$in) return id.$in.includes(topic);
  return new RegExp(id.$regex!).test(topic);
}

/** The tree without its $literal subtrees: what MongoDB evaluates as expressions. */
function withoutLiterals(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLiterals);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== '$literal').map(([k, v]) => [k, withoutLiterals(v)]));
  }
  return value;
}

describe('subscription lookup', () => {
  test('keys are the literal levels before the first wildcard', () => {
    assert.equal(Q.subscriptionKey('a/b/+/c'), 'a/b');
    assert.equal(Q.subscriptionKey('a/#'), 'a');
    assert.equal(Q.subscriptionKey('#'), '');
    assert.equal(Q.subscriptionKey('+/x'), '');
    assert.equal(Q.subscriptionKey('a/b'), 'a/b');
    assert.deepEqual(Q.topicLookupKeys('a/b/c'), ['', 'a', 'a/b', 'a/b/c']);
    assert.deepEqual(Q.topicLookupKeys('/x'), ['', '/x']);
  });

  test('every filter that matches a topic has one of its lookup keys (so the indexed $in finds it)', () => {
    let matches = 0;
    for (const topic of TOPICS) {
      const keys = new Set(Q.topicLookupKeys(topic));
      for (const filter of FILTERS) {
        if (!topicMatches(filter, topic)) continue;
        matches++;
        assert.ok(keys.has(Q.subscriptionKey(filter)), `${filter} matches ${topic} but its key ${Q.subscriptionKey(filter)} is not looked up`);
      }
    }
    assert.ok(matches > 1_000, `only ${matches} pairs checked`);
  });

  test('a shared subscription ($share/<group>/<filter>) is keyed and matched by its filter', () => {
    let matches = 0;
    for (const topic of TOPICS) {
      const keys = new Set(Q.topicLookupKeys(topic));
      for (const filter of FILTERS) {
        const shared = `$share/g/${filter}`;
        assert.equal(Q.subscriptionMatches(shared, topic), topicMatches(filter, topic), `${shared} on ${topic}`);
        assert.equal(Q.subscriptionMatches(filter, topic), topicMatches(filter, topic));
        if (!topicMatches(filter, topic)) continue;
        matches++;
        assert.ok(keys.has(Q.subscriptionKey(shared)), `${shared} matches ${topic} but its key ${Q.subscriptionKey(shared)} is not looked up`);
      }
    }
    assert.ok(matches > 1_000, `only ${matches} pairs checked`);
    assert.equal(Q.subscriptionKey('$share/g/a/b/#'), 'a/b');
    assert.equal(Q.subscriptionMatches('$share/g/a/#', '$share/g/a/x'), false);
  });

  test('a lookup reads few candidates: a literal filter is read only for its own topics', () => {
    const key = Q.subscriptionKey('a/b/c');
    assert.ok(!Q.topicLookupKeys('a/b').includes(key));
    assert.ok(!Q.topicLookupKeys('a/c/c').includes(key));
  });
});

describe('expired retained messages', () => {
  /** Whether a document is selected by an expiredRetainedSelector: the two operators it uses. */
  function selected(selector: Document, doc: { _id: string; expires?: number }): boolean {
    const ids = (selector._id as { $in?: string[] } | undefined)?.$in;
    if (ids && !ids.includes(doc._id)) return false;
    return doc.expires !== undefined && doc.expires <= (selector.expires as { $lte: number }).$lte;
  }

  test('those expired at a time are selected, of the given topics only; no expiry or a later one stays', () => {
    const now = 1_000_000;
    const docs = [
      { _id: 'gone', expires: now - 1 },
      { _id: 'now', expires: now },
      { _id: 'later', expires: now + 1 },
      { _id: 'forever' },
    ];
    assert.deepEqual(docs.filter((doc) => selected(Q.expiredRetainedSelector(now), doc)).map((d) => d._id), ['gone', 'now']);
    assert.deepEqual(docs.filter((doc) => selected(Q.expiredRetainedSelector(now, ['now', 'later']), doc)).map((d) => d._id), ['now']);
    assert.deepEqual(docs.map((doc) => Q.retainedExpired(doc, now)), [true, true, false, false]);
    assert.deepEqual(Q.expiredRetainedSelector(now, ['a']), { expires: { $lte: now }, _id: { $in: ['a'] } });
  });
});

describe('retained lookup', () => {
  test('the selector finds every topic a filter matches, and no $ topic for a leading wildcard', () => {
    for (const filter of FILTERS) {
      const selector = Q.retainedSelector([filter]);
      for (const topic of TOPICS) {
        if (topicMatches(filter, topic)) assert.ok(selects(selector, topic), `${filter} must select ${topic}`);
        if (topic.startsWith('$') && /^[+#]/.test(filter)) assert.ok(!selects(selector, topic), `${filter} must not select ${topic}`);
      }
    }
  });

  test('several filters in one query; regex characters in topics are literal', () => {
    const selector = Q.retainedSelector(['x.y/#', 'a/b', 'q/+']);
    assert.ok(selects(selector, 'x.y/z'));
    assert.ok(!selects(selector, 'xzy/z'), 'the dot is not a wildcard');
    assert.ok(selects(selector, 'a/b'));
    assert.ok(!selects(selector, 'a/bc'));
    assert.ok(selects(selector, 'q/1'));
    assert.ok(!selects(selector, 'qq/1'));
    assert.deepEqual(Q.retainedSelector([]), { _id: { $in: [] } });
    assert.deepEqual(Q.retainedSelector(['a', 'b']), { _id: { $in: ['a', 'b'] } });
  });

  test('a page of retained messages starts after the last topic of the page before', () => {
    assert.deepEqual(Q.retainedPageSelector(['a/#']), Q.retainedSelector(['a/#']));
    assert.deepEqual(Q.retainedPageSelector(['a/#', 'b'], 'a/k'), { $and: [Q.retainedSelector(['a/#', 'b']), { _id: { $gt: 'a/k' } }] });
  });
});

describe('update pipelines', () => {
  test("topics and ids are always $literal: '$SYS/#' must not be read as a field path", () => {
    const stages = [
      ...Q.ensureSessionStages(0, 1000, '$G3N'),
      Q.addSubscriptionsStage([{ topic: '$SYS/#', qos: 1 }, { topic: '$x/q', qos: 0 }]),
      Q.putIncomingStage(7, '$T0K'),
      ...Q.putOutgoingStages(messageDocument(message('$SYS/y', 'p', 1)), false, 3, 0, 1000),
    ];
    const evaluated = JSON.stringify(withoutLiterals(stages));
    for (const text of ['$SYS', '$x/q', '$G3N', '$T0K']) assert.ok(!evaluated.includes(text), `${text} outside a $literal: ${evaluated}`);
    assert.ok(JSON.stringify(stages).includes('"$SYS/#"'), 'the topic is in the pipeline, as a literal');
  });

  test('a new or expired session starts empty with its expiry; a live one is kept', () => {
    const [fresh, set] = Q.ensureSessionStages(1_000, 500, 'g1') as [Document, Document];
    assert.deepEqual(fresh.$set._fresh.$or[0], { $eq: [{ $type: '$gen' }, 'missing'] });
    assert.deepEqual(set.$set.expiresAt.$cond[1], new Date(1_500));
    assert.deepEqual(set.$set.gen.$cond[1], { $literal: 'g1' });
    assert.deepEqual(set.$set.subs.$cond[1], { $literal: [] });
  });
});

describe('session expiry intervals', () => {
  test('connected: owned, no expiry; offline: its own interval (given now or earlier), else the ttl', () => {
    const [keep, connected] = Q.setConnectedStages('inst', undefined, 0, 500) as [Document, Document];
    assert.deepEqual(keep.$set.exp, { $ifNull: ['$exp', null] }, 'an interval given earlier is kept');
    assert.deepEqual(connected.$set, { conn: { $literal: 'inst' }, expiresAt: null });
    const [given, offline] = Q.setConnectedStages(null, 150, 1_000, 500) as [Document, Document];
    assert.deepEqual(given.$set.exp, { $literal: 150 });
    assert.deepEqual(offline.$set, { conn: null, expiresAt: { $add: [new Date(1_000), { $ifNull: ['$exp', 500] }] } });
    assert.deepEqual(Q.offlineSince(7, 9), { $set: { conn: null, expiresAt: { $add: [new Date(7), { $ifNull: ['$exp', 9] }] } } });
  });
});

describe('keys, expiry and indexes', () => {
  test('expiry is now + ttl; live sessions have no expiry or one ahead', () => {
    assert.equal(Q.expiry(1_000, 250).getTime(), 1_250);
    assert.deepEqual(Q.notExpired(5), { $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date(5) } }] });
  });

  test('collections are named under the prefix; TTL and unique indexes where the design needs them', () => {
    assert.deepEqual(Object.values(Q.collectionNames('p.')), ['p.sessions', 'p.retained', 'p.queue', 'p.removed', 'p.outgoing', 'p.wills', 'p.instances', 'p.records']);
    for (const [kind, indexes] of Object.entries(Q.STORE_INDEXES)) {
      assert.ok(indexes.some((i) => i.expireAfterSeconds === 0 && JSON.stringify(i.key) === '{"expiresAt":1}'), `${kind}: TTL index on expiresAt`);
    }
    assert.ok(Q.STORE_INDEXES.queue.some((i) => i.unique && JSON.stringify(i.key) === '{"c":1,"g":1,"s":1}'));
    const byId = Q.STORE_INDEXES.queue.find((i) => JSON.stringify(i.key) === '{"c":1,"g":1,"id":1}');
    assert.ok(byId?.unique, 'one queue entry per message id');
    assert.deepEqual(byId.partialFilterExpression, { id: { $gt: '' } }, 'messages without an id are never taken for another');
    assert.ok(Q.STORE_INDEXES.removed.some((i) => i.unique && JSON.stringify(i.key) === '{"c":1,"g":1,"id":1}'));
    assert.ok(Q.STORE_INDEXES.outgoing.some((i) => i.unique && JSON.stringify(i.key) === '{"c":1,"g":1,"mid":1}'));
    assert.ok(Q.STORE_INDEXES.sessions.some((i) => JSON.stringify(i.key) === '{"subs.l":1}'));
    assert.ok(Q.STORE_INDEXES.records.some((i) => i.unique && JSON.stringify(i.key) === '{"col":1,"key":1}'));
  });

  test('records: a prefix is an anchored literal, after is exclusive, expired ones are left out', () => {
    const selector = Q.recordsSelector('devices', 10, 'a.b*', 'a.b*1');
    assert.equal(selector.col, 'devices');
    assert.equal(selector.key.$gt, 'a.b*1');
    const prefix = new RegExp(selector.key.$regex as string);
    assert.ok(prefix.test('a.b*2') && !prefix.test('aXb*2') && !prefix.test('xa.b*'));
    assert.deepEqual(selector.$or, Q.notExpired(10).$or);
    assert.deepEqual(Object.keys(Q.recordsSelector('c', 0)), ['col', '$or'], 'no key condition without prefix or after');
  });
});

/** Topic filter matching through the broker: wildcards, levels, and '$' topics. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { flush, harness } from './helpers.js';
import { RetainedIndex, TopicIndex, topicLevelsError } from '../src/index.js';

const TOPICS = ['a', 'a/b', 'a/b/c', 'a/x/c', 'a/', '/a', 'x', 'b/x', 'A/b', '$SYS/x', '$SYS/a/b', '$app/x', '$app/y/z'];

/** Filter → the topics of TOPICS it must receive. */
const EXPECTED: Record<string, string[]> = {
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with '$'.
  '#': ['a', 'a/b', 'a/b/c', 'a/x/c', 'a/', '/a', 'x', 'b/x', 'A/b'],
  '+': ['a', 'x'],
  // [MQTT-4.7.1-2] 'a/#' matches 'a' as well.
  'a/#': ['a', 'a/b', 'a/b/c', 'a/x/c', 'a/'],
  // [MQTT-4.7.1-3] '+' matches one level, an empty one included.
  'a/+': ['a/b', 'a/'],
  'a/+/c': ['a/b/c', 'a/x/c'],
  '+/+': ['a/b', 'a/', '/a', 'b/x', 'A/b'],
  '+/x': ['b/x'],
  '/+': ['/a'],
  'a/b': ['a/b'],
  'a/': ['a/'],
  '$SYS/#': ['$SYS/x', '$SYS/a/b'],
  '$SYS/+': ['$SYS/x'],
  // '$' topics other than $SYS reach subscribers that name their first level.
  '$app/x': ['$app/x'],
  '$app/#': ['$app/x', '$app/y/z'],
  '$app/+/z': ['$app/y/z'],
  '+/#': ['a', 'a/b', 'a/b/c', 'a/x/c', 'a/', '/a', 'x', 'b/x', 'A/b'],
};

describe('topic matching', () => {
  test('each filter receives exactly the topics it matches', async (t) => {
    const h = await harness(t);
    const subs = await Promise.all(Object.keys(EXPECTED).map((filter) => h.subscriber({ [filter]: 0 })));
    for (const topic of TOPICS) await h.server.publish({ topic, payload: topic });
    for (const [i, [filter, expected]] of Object.entries(EXPECTED).entries()) {
      const sub = subs[i]!;
      await flush(sub, h.server);
      // Only the topics of this test: the broker publishes $SYS events of its own.
      const received = sub.messages.map((m) => m.topic).filter((topic) => TOPICS.includes(topic));
      assert.deepEqual(received, expected, `filter ${JSON.stringify(filter)}`);
    }
  });

  test("a client holding '#' and '$SYS/#' gets a $SYS message once", async (t) => {
    const h = await harness(t);
    const sub = await h.subscriber({ '#': 0, '$SYS/#': 1 });
    await h.server.publish({ topic: '$SYS/once', payload: 'x', qos: 1 });
    await h.server.publish({ topic: 'plain', payload: 'y', qos: 1 });
    await flush(sub, h.server);
    const mine = sub.messages.filter((m) => m.topic === '$SYS/once' || m.topic === 'plain');
    assert.deepEqual(mine.map((m) => [m.topic, m.qos]), [['$SYS/once', 1], ['plain', 0]]);
  });

  test('a message published by a client on a $ topic reaches $app/# but not # or +/x', async (t) => {
    // [MQTT-4.7.2-1] ($SYS itself is the broker's: see sys-access.test.ts)
    const h = await harness(t);
    const dollar = await h.subscriber({ '$app/#': 0 });
    const hash = await h.subscriber({ '#': 0, '+/x': 0 });
    const pub = await h.connect();
    await pub.client.publishAsync('$app/x', 'app', { qos: 1 });
    await pub.client.publishAsync('z/x', 'plain', { qos: 1 });
    await flush(dollar, pub);
    await flush(hash, pub);
    assert.ok(dollar.messages.some((m) => m.topic === '$app/x'));
    assert.deepEqual(hash.messages.filter((m) => !m.topic.startsWith('$')).map((m) => m.topic), ['z/x']);
    assert.ok(!hash.messages.some((m) => m.topic.startsWith('$')));
  });
});

describe('the retained index', () => {
  const entry = (topic: string, expiresAt?: number) => ({ topic, expiresAt });
  /** What `filters` find, sorted: the walk's order is the trie's, not the order of storing. */
  const found = (index: RetainedIndex<{ topic: string; expiresAt?: number | undefined }>, filters: string[], now?: number) => {
    const { entries, expired } = index.matchLive(filters, now);
    return { entries: entries.map((e) => e.topic).sort(), expired: expired.sort() };
  };

  test('finds each topic by the filters that match it, whether its level is a leaf or has levels below', () => {
    // A leaf is kept as its entry in its parent's map, a level with levels below as a node: 'a' and
    // 'a/b' are both, '$SYS/a/b' and '/a' only leaves, 'a/' ends in an empty level.
    const index = new RetainedIndex<{ topic: string; expiresAt?: number | undefined }>();
    for (const topic of [...TOPICS].reverse()) index.set(entry(topic));
    assert.equal(index.size, TOPICS.length);
    for (const [filter, expected] of Object.entries(EXPECTED)) assert.deepEqual(found(index, [filter]).entries, [...expected].sort(), filter);
    for (const topic of TOPICS) assert.ok(index.has(topic), topic);
    for (const topic of ['a/b/c/d', 'a/x', '$SYS', '', 'a//b']) assert.ok(!index.has(topic), topic);
  });

  test('removing a topic keeps the topics above and below it, and a level becomes a leaf again', () => {
    const index = new RetainedIndex<{ topic: string; expiresAt?: number | undefined }>();
    const topics = ['a', 'a/b', 'a/b/c', 'a//b', '/', '//', '$app/x/y'];
    for (const topic of topics) index.set(entry(topic));
    index.remove('a/b'); // a node with a child: its entry goes, the node stays
    index.remove('a/b'); // twice: nothing more
    index.remove('a/b/c/d'); // below a leaf: nothing
    assert.deepEqual(found(index, ['#']).entries, ['/', '//', 'a', 'a//b', 'a/b/c']);
    index.remove('a/b/c'); // the last child: 'a/b' is pruned, and 'a' keeps its entry
    index.remove('a//b');
    assert.deepEqual(found(index, ['#']).entries, ['/', '//', 'a']);
    assert.ok(index.has('a') && !index.has('a/b') && !index.has('a/'));
    index.remove('/'); // '//' is below the empty level's entry
    assert.deepEqual(found(index, ['+/+/+']).entries, ['//']);
    assert.deepEqual(found(index, ['$app/+/y', '#']).entries, ['$app/x/y', '//', 'a']);
    index.set(entry('a/b')); // 'a', a leaf again, gets a child
    index.set(entry('a/b')); // replaced, not counted twice
    assert.equal(index.size, 4);
    assert.deepEqual(found(index, ['a/#']).entries, ['a', 'a/b']);
    for (const topic of ['a', 'a/b', '//', '$app/x/y']) index.remove(topic);
    assert.equal(index.size, 0);
    assert.ok(!index.mayMatch(['#']));
  });

  test('an expired entry is listed apart, in a leaf as in a node', () => {
    const index = new RetainedIndex<{ topic: string; expiresAt?: number | undefined }>();
    index.set(entry('e', 100)); // a node: 'e/live' is below it
    index.set(entry('e/live'));
    index.set(entry('e/gone', 100)); // a leaf
    index.set(entry('e/later', 300));
    assert.deepEqual(found(index, ['e/#'], 200), { entries: ['e/later', 'e/live'], expired: ['e', 'e/gone'] });
    assert.deepEqual(index.expiredTopics(200).sort(), ['e', 'e/gone']);
    index.set(entry('e')); // stored again without an expiry
    assert.deepEqual(index.expiredTopics(200), ['e/gone']);
    assert.ok(!index.isExpired('e', 200) && index.isExpired('e/gone', 200));
  });
});

describe('deep topics', () => {
  // 65,535 bytes of '/': 65,536 empty levels, far beyond what a recursive walk survives.
  const DEEP = '/'.repeat(65_535);

  test('the filter and retained tries walk any depth without recursion', () => {
    const index = new TopicIndex<string>();
    // Values are labels: a failing comparison must not print 65 KB filters.
    const filters: Record<string, string> = { '#': 'all', '+/#': 'plus-all', [DEEP]: 'exact', [`${DEEP}+`]: 'plus-last', 'a/#': 'other' };
    for (const [filter, label] of Object.entries(filters)) index.add(filter, label, label);
    const found: string[] = [];
    index.match(DEEP, (key) => found.push(key));
    assert.deepEqual(found.sort(), ['all', 'exact', 'plus-all', 'plus-last']);
    assert.equal([...index.entries()].find(([filter]) => filter === DEEP)?.[1], 'exact');

    const retained = new RetainedIndex();
    retained.set({ id: 'deep', topic: DEEP, payload: Buffer.from('deep'), qos: 0, retain: true });
    retained.set({ id: 'ab', topic: 'a/b', payload: Buffer.from('ab'), qos: 0, retain: true });
    for (const filter of ['#', '+/#', '/#', DEEP, `${DEEP}+`]) assert.ok(retained.matchLive([filter]).entries.some((m) => m.topic === DEEP), `filter of ${filter.length} bytes`);
    assert.deepEqual(retained.matchLive(['a/#']).entries.map((m) => m.topic), ['a/b']);
  });

  test('maxTopicLevels (128 by default) refuses deeper topic names and filters', async (t) => {
    assert.equal(topicLevelsError(`a${'/b'.repeat(127)}`, 128), null);
    assert.match(topicLevelsError(`a${'/b'.repeat(128)}`, 128) ?? '', /more than 128 topic levels/);
    assert.match(topicLevelsError(`a${'/+'.repeat(128)}`, 128) ?? '', /more than 128 topic levels/);
    const h = await harness(t, { maxTopicLevels: 4 });
    const raw = await h.connectRaw();
    assert.deepEqual(await raw.subscribe([{ topic: 'a/b/c/d', qos: 1 }, { topic: 'a/b/c/d/e', qos: 1 }]), [1, 0x80]);
    await assert.rejects(h.server.publish({ topic: 'a/b/c/d/e', payload: 'x' }), /more than 4 topic levels/);
    raw.send({ cmd: 'publish', topic: 'a/b/c/d/e', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: true });
    await raw.waitClosed();
    assert.deepEqual(await h.server.store.matchRetained(['#']), []);
  });
});

describe('values under one filter', () => {
  // A node keeps its first value inline and makes a map from the second: every step of that
  // (one value, two, back to one, none, one again) must read the same through the index.
  test('one, several, and back: add, replace, remove, match and list agree', () => {
    const index = new TopicIndex<number>();
    const matched = (topic: string) => {
      const found: string[] = [];
      index.match(topic, (key, value) => found.push(`${key}=${value}`));
      return found.sort();
    };
    assert.equal(index.add('a/+', 'k1', 1), true);
    assert.equal(index.add('a/+', 'k1', 10), false, 'the same key replaces its value');
    assert.equal(index.size, 1);
    assert.deepEqual(matched('a/b'), ['k1=10']);
    assert.equal(index.add('a/+', 'k2', 2), true);
    assert.equal(index.add('a/+', '', 3), true, 'an empty key is a key like any other');
    assert.equal(index.size, 3);
    assert.deepEqual(matched('a/b'), ['=3', 'k1=10', 'k2=2']);
    assert.equal(index.get('a/+', 'k2'), 2);
    assert.equal(index.add('+/#', 'k4', 5), true);
    assert.deepEqual([...index.entries()].map(([filter, key]) => `${filter} ${key}`).sort(), ['+/# k4', 'a/+ ', 'a/+ k1', 'a/+ k2']);
    assert.deepEqual(matched('a/b'), ['=3', 'k1=10', 'k2=2', 'k4=5']);
    assert.equal(index.remove('+/#', 'k4'), true);
    assert.equal(index.remove('a/+', 'k1'), true);
    assert.equal(index.remove('a/+', 'k1'), false);
    assert.deepEqual(matched('a/b'), ['=3', 'k2=2']);
    assert.equal(index.remove('a/+', 'k2'), true);
    assert.equal(index.remove('a/+', ''), true);
    assert.equal(index.size, 0);
    assert.deepEqual(matched('a/b'), []);
    assert.deepEqual([...index.entries()], [], 'the emptied branch is pruned');
    assert.equal(index.add('a/#', 'k3', 4), true);
    assert.deepEqual(matched('a'), ['k3=4'], "'#' matches its parent level with a single value too");
    assert.deepEqual([...index.entries()], [['a/#', 'k3', 4]]);
    assert.equal(index.get('a/#', 'k1'), undefined);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topicMatches } from '@skynet-mqtt/core';
import { fromParentTopic, parentFilter, prefixError, syncTopic, toParentTopic } from '../src/topics.js';

const TOPICS = ['a', 'a/b', '/lead', 'trail/', 'a//b', '$SYS/x/new/clients', 'ü/日本', 'sp ace/x', 'a/$b'];

test('with a prefix every topic round-trips through <prefix>/<topic> and matches the parent filter', () => {
  for (const prefix of ['site-1', 'a/b', 'with space', 'x/']) {
    for (const topic of TOPICS) {
      const parent = toParentTopic(prefix, topic);
      assert.equal(parent, `${prefix}/${topic}`);
      assert.equal(fromParentTopic(prefix, parent!), topic, `${prefix} + ${topic}`);
      assert.ok(topicMatches(parentFilter(prefix), parent!), `${parentFilter(prefix)} must match ${parent}`);
    }
  }
});

test('without a prefix topics are the same, and $ topics stay local', () => {
  for (const topic of TOPICS.filter((t) => !t.startsWith('$'))) {
    assert.equal(toParentTopic(null, topic), topic);
    assert.equal(fromParentTopic(null, topic), topic);
    assert.ok(topicMatches(parentFilter(null), topic));
  }
  assert.equal(toParentTopic(null, '$SYS/b1/new/clients'), null);
  assert.equal(parentFilter(null), '#');
});

test('parent topics that are not under the prefix, or map to an empty topic, are not ours', () => {
  assert.equal(fromParentTopic('p', 'p'), null, '<prefix>/# matches <prefix> itself');
  assert.equal(fromParentTopic('p', 'p/'), null, 'an empty topic is not valid');
  assert.equal(fromParentTopic('p', 'pq/x'), null);
  assert.equal(fromParentTopic('p', 'other/p/x'), null);
  assert.equal(fromParentTopic('p', 'p//'), '/');
});

test('sync markers use a $ topic per instance: no # subscriber on the parent sees them', () => {
  const topic = syncTopic('abc');
  assert.ok(!topicMatches('#', topic));
  assert.ok(!topicMatches(parentFilter(null), topic));
  assert.ok(!topicMatches(parentFilter('p'), topic));
  assert.notEqual(syncTopic('abd'), topic);
});

test('prefixes with wildcards, U+0000 or a leading $ are refused', () => {
  assert.equal(prefixError('site-1/a'), null);
  assert.match(prefixError('a/+')!, /wildcards/);
  assert.match(prefixError('a/#')!, /wildcards/);
  assert.match(prefixError('a\u0000')!, /U\+0000/);
  assert.match(prefixError('$share/g')!, /must not start with '\$'/);
});

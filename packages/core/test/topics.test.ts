/** Topic filter matching through the broker: wildcards, levels, and '$' topics. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { flush, harness } from './helpers.js';

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

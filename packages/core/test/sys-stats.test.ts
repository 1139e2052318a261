/** `$SYS/<broker id>/...` statistics: Mosca's topic names, published every statsInterval. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { harness, waitFor, type TestClient } from './helpers.js';

/** The latest value received on `$SYS/<id>/<name>`. */
function latest(sub: TestClient, id: string, name: string): string | undefined {
  const found = sub.messages.filter((m) => m.topic === `$SYS/${id}/${name}`);
  return found[found.length - 1]?.payload.toString();
}

test('with stats on, counters are published under $SYS/<id>/ and follow the traffic', async (t) => {
  const h = await harness(t, { id: 'statsbroker', stats: true, statsInterval: 100 });
  const sub = await h.subscriber({ '$SYS/statsbroker/#': 0 });
  const pub = await h.connect();
  for (let i = 0; i < 5; i++) await pub.client.publishAsync('counted', 'x', { qos: 1 });
  await waitFor(() => latest(sub, 'statsbroker', 'publish/received') === '5', 'publish/received to reach 5', 3000);
  assert.equal(latest(sub, 'statsbroker', 'clients/connected'), '2');
  assert.equal(latest(sub, 'statsbroker', 'clients/maximum'), '2');
  assert.match(latest(sub, 'statsbroker', 'version') ?? '', /^skynet-mqtt \d+\.\d+\.\d+$/);
  assert.match(latest(sub, 'statsbroker', 'uptime') ?? '', /^\d+ seconds$/);
  assert.ok(Number(latest(sub, 'statsbroker', 'memory/rss')) > 0);
  for (const name of ['load/connections/1min', 'load/publish/received/15min', 'messages/dropped', 'publish/sent', 'started_at']) {
    assert.notEqual(latest(sub, 'statsbroker', name), undefined, `${name} is published`);
  }
  // [MQTT-4.7.2-1] '#' does not see them.
  const all = await h.subscriber({ '#': 0 });
  await waitFor(() => sub.messages.filter((m) => m.topic.endsWith('/uptime')).length >= 3, 'two more rounds of stats');
  assert.equal(all.messages.filter((m) => m.topic.startsWith('$SYS')).length, 0);
});

test('with stats off (the embedded default), nothing is published periodically', async (t) => {
  const h = await harness(t, { id: 'quiet', statsInterval: 50 });
  const sub = await h.subscriber({ '$SYS/quiet/+': 0, '$SYS/quiet/clients/+': 0 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(sub.messages.map((m) => m.topic), []);
});

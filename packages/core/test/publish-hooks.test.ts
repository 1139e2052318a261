/**
 * authorizePublish and authorizeForward on the publish path, in Mosca's three styles: callback,
 * promise, and a verdict returned directly.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Client, Message } from '../src/index.js';
import { flush, harness, payloads, waitFor } from './helpers.js';

type Verdict = boolean | Buffer | 'ignore';
type AuthorizePublish = (client: Client, topic: string, payload: Buffer, callback: (error: Error | null, verdict?: Verdict) => void) => unknown;

/** The same verdict delivered through each hook style. */
const styles: Record<string, (verdict: Verdict) => AuthorizePublish> = {
  callback: (verdict) => (_client, _topic, _payload, callback) => void setImmediate(() => callback(null, verdict)),
  promise: (verdict) => async () => verdict,
  direct: (verdict) => () => verdict,
};

describe('authorizePublish', () => {
  for (const [style, hookWith] of Object.entries(styles)) {
    test(`${style}: true publishes, a Buffer replaces the payload, 'ignore' acks without publishing`, async (t) => {
      const h = await harness(t);
      const verdicts: Record<string, Verdict> = { 'hp/allow': true, 'hp/replace': Buffer.from('replaced'), 'hp/ignore': 'ignore' };
      const calls: [string, string, string][] = [];
      h.server.authorizePublish = (client, topic, payload, callback) => {
        calls.push([client.id, topic, payload.toString()]);
        return hookWith(verdicts[topic]!)(client, topic, payload, callback);
      };
      const sub = await h.subscriber({ 'hp/#': 2 });
      const raw = await h.connectRaw({ clientId: 'hp-pub' });
      for (const [i, topic] of Object.keys(verdicts).entries()) {
        raw.send({ cmd: 'publish', topic, payload: Buffer.from('original'), qos: 1, dup: false, retain: false, messageId: i + 1 });
        assert.equal((await raw.next('puback')).messageId, i + 1, `PUBACK for ${topic}`);
      }
      // 'ignore' at QoS 2 is acknowledged the QoS 2 way.
      raw.send({ cmd: 'publish', topic: 'hp/ignore', payload: Buffer.from('q2'), qos: 2, dup: false, retain: false, messageId: 9 });
      assert.equal((await raw.next('pubrec')).messageId, 9);
      await flush(sub, h.server);
      assert.deepEqual(sub.messages.map((m) => [m.topic, m.payload.toString()]), [['hp/allow', 'original'], ['hp/replace', 'replaced']]);
      assert.deepEqual(calls.slice(0, 3), Object.keys(verdicts).map((topic) => ['hp-pub', topic, 'original']));
      assert.equal(raw.closed, false);
    });

    test(`${style}: false closes the publisher's connection without PUBACK or delivery`, async (t) => {
      const h = await harness(t);
      h.server.authorizePublish = hookWith(false);
      const sub = await h.subscriber({ 'hp/deny': 1 });
      const raw = await h.connectRaw();
      raw.send({ cmd: 'publish', topic: 'hp/deny', payload: Buffer.from('no'), qos: 1, dup: false, retain: false, messageId: 1 });
      await raw.waitClosed();
      assert.deepEqual(raw.pending('puback'), []);
      await flush(sub, h.server);
      assert.deepEqual(sub.messages, []);
    });
  }

  test('false on a QoS 0 publish closes the connection too', async (t) => {
    const h = await harness(t);
    h.server.authorizePublish = () => false;
    const sub = await h.subscriber({ 'hp/q0': 0 });
    const raw = await h.connectRaw();
    raw.send({ cmd: 'publish', topic: 'hp/q0', payload: Buffer.from('no'), qos: 0, dup: false, retain: false });
    await raw.waitClosed();
    await flush(sub, h.server);
    assert.deepEqual(sub.messages, []);
  });

  test('an error from the hook closes the connection', async (t) => {
    const h = await harness(t);
    h.server.authorizePublish = (_client, _topic, _payload, callback) => callback(new Error('denied'));
    const raw = await h.connectRaw();
    raw.send({ cmd: 'publish', topic: 'hp/err', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 1 });
    await raw.waitClosed();
    assert.deepEqual(raw.pending('puback'), []);
  });
});

describe('authorizeForward', () => {
  const forwardStyles = {
    callback: (allowed: boolean) => (_c: Client, _m: Message, callback: (e: Error | null, ok?: boolean) => void) => void setImmediate(() => callback(null, allowed)),
    promise: (allowed: boolean) => async () => allowed,
  };
  for (const [style, verdict] of Object.entries(forwardStyles)) {
    test(`${style}: false keeps the message from that subscriber only`, async (t) => {
      const h = await harness(t);
      const seen: [string, string][] = [];
      h.server.authorizeForward = (client, packet, callback) => {
        if (packet.topic.startsWith('$test/flush/')) return true; // the flush sentinel
        seen.push([client.id, packet.topic]);
        return verdict(client.id !== 'blocked')(client, packet, callback);
      };
      const blocked = await h.subscriber({ 'fw/x': 1 }, { clientId: 'blocked' });
      const allowed = await h.subscriber({ 'fw/x': 1 }, { clientId: 'allowed' });
      const pub = await h.connect({ clientId: 'fw-pub' });
      for (const payload of ['1', '2', '3']) await pub.client.publishAsync('fw/x', payload, { qos: 1 });
      await waitFor(() => allowed.messages.length === 3, 'three messages to the allowed subscriber');
      assert.deepEqual(payloads(allowed), ['1', '2', '3'], 'in order');
      await flush(blocked, pub);
      assert.deepEqual(blocked.messages, []);
      assert.deepEqual(seen.map(([id]) => id).sort(), ['allowed', 'allowed', 'allowed', 'blocked', 'blocked', 'blocked']);
      assert.ok(seen.every(([, topic]) => topic === 'fw/x'));
    });
  }
});

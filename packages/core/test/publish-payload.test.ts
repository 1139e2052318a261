/** Payloads are carried byte for byte: binary, empty and large. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { harness, waitFor } from './helpers.js';

const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('PUBLISH payloads', () => {
  for (const qos of [0, 1, 2] as const) {
    test(`all 256 byte values, an empty payload and a 256 KB payload survive at QoS ${qos}`, async (t) => {
      const h = await harness(t);
      const sub = await h.subscriber({ 'bin/#': qos });
      const pub = await h.connect();
      const large = Buffer.alloc(256 * 1024);
      for (let i = 0; i < large.length; i++) large[i] = (i * 7 + (i >> 8)) & 0xff;
      const sent = [everyByte, Buffer.alloc(0), large];
      for (const [i, payload] of sent.entries()) await pub.client.publishAsync(`bin/${i}`, payload, { qos });
      await waitFor(() => sub.messages.length === sent.length, 'three messages');
      for (const [i, payload] of sent.entries()) {
        const got = sub.messages[i]!;
        assert.equal(got.topic, `bin/${i}`);
        assert.equal(got.payload.length, payload.length);
        assert.ok(got.payload.equals(payload), `payload ${i} byte-exact`);
      }
    });
  }

  test('server.publish with a binary Buffer reaches a raw subscriber byte for byte', async (t) => {
    const h = await harness(t);
    const raw = await h.connectRaw();
    await raw.subscribe([{ topic: 'bin/raw', qos: 0 }]);
    await h.server.publish({ topic: 'bin/raw', payload: everyByte });
    const packet = await raw.next('publish');
    assert.ok(Buffer.isBuffer(packet.payload) && packet.payload.equals(everyByte));
  });
});

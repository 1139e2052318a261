/**
 * The frame of the strict-input suites (strict-*.test.ts): one broker per suite, a well-behaved
 * mqtt.js publisher and subscriber exchanging numbered QoS 1 messages for as long as the suite
 * runs, and raw sockets sending one offending packet per case. Each case asserts what the broker
 * answered (exactly, packet by packet) and whether it closed the connection, then that the healthy
 * subscriber is still receiving; the suite ends by checking it received every message, in order,
 * and nothing of any offending packet.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type mqttPacket from 'mqtt-packet';
import type { ServerOptions } from '../src/index.js';
import { connect, RawClient, sleep, startBroker, waitFor, type TestBroker, type TestClient } from './helpers.js';
import { wire } from '@skynet-mqtt/test-support';

/** Topics a case may publish to legitimately; anything else reaching the healthy subscriber is a leak. */
export const ACCEPTED_PREFIX = 'accepted/';
const HEALTHY_TOPIC = 'healthy/stream';

/** The packets a case expects from the broker: each by `cmd`, plus any fields it names. */
export type Answer = Partial<mqttPacket.Packet> & { cmd: mqttPacket.Packet['cmd'] };

export interface Expectation {
  /** What the broker sends back, in order (default: nothing). */
  answer?: Answer[];
  /** The connection stays open (checked with a PINGREQ after the answer) instead of being closed. */
  open?: boolean;
}

export interface StrictSuite {
  readonly broker: TestBroker;
  /** A raw socket reading packets of protocol `level`, destroyed when the suite ends. */
  raw(level?: 4 | 5): Promise<RawClient>;
  /** A raw socket that has done a valid CONNECT of `level` (a unique client id) and received CONNACK 0. */
  connected(level?: 4 | 5): Promise<RawClient>;
  /** Sends `bytes` on `raw` and checks the answer and the close, then that the healthy pair still works. */
  expect(raw: RawClient, bytes: Buffer, expectation?: Expectation): Promise<void>;
  /** The payloads the healthy subscriber (subscribed to '#') received on `topic`. */
  received(topic: string): string[];
  /** Registers the suite's last test: the healthy subscriber got every message, and nothing else. Call it after the cases. */
  testHealthyPair(): void;
}

let sequence = 0;

/** Registers the suite's hooks (call it at the top of a test file); `options` go to the broker. */
export function strictSuite(options: ServerOptions = {}): StrictSuite {
  let broker: TestBroker;
  let publisher: TestClient;
  let subscriber: TestClient;
  const raws: RawClient[] = [];
  let sent = 0;
  let running = true;
  let streaming: Promise<void> = Promise.resolve();
  let streamError: unknown = null;

  const healthyCount = () => subscriber.messages.filter((m) => m.topic === HEALTHY_TOPIC).length;

  before(async () => {
    broker = await startBroker(options);
    subscriber = await connect(broker.url, { clientId: `healthy-sub-${process.pid}` });
    await subscriber.client.subscribeAsync('#', { qos: 1 });
    publisher = await connect(broker.url, { clientId: `healthy-pub-${process.pid}` });
    streaming = (async () => {
      while (running) {
        await publisher.client.publishAsync(HEALTHY_TOPIC, String(sent), { qos: 1 });
        sent++;
        await sleep(5);
      }
    })().catch((error: unknown) => {
      streamError = error;
    });
  });

  after(async () => {
    running = false;
    await streaming;
    for (const raw of raws) raw.close();
    await Promise.all([publisher?.end(true), subscriber?.end(true)]);
    await broker?.close();
  });

  const suite: StrictSuite = {
    get broker() {
      return broker;
    },
    async raw(level = 4) {
      const raw = await RawClient.connect(broker.port, level);
      raws.push(raw);
      return raw;
    },
    async connected(level = 4) {
      const raw = await suite.raw(level);
      const clientId = `strict-${process.pid}-${++sequence}`;
      // MQTT 5: an empty property list after the keepalive.
      raw.sendBytes(level === 5 ? wire.packet(0x10, wire.field('MQTT'), [5, 2, 0, 0, 0], wire.field(clientId)) : wire.connect({ clientId }));
      const connack = await raw.next('connack');
      assert.equal(connack.returnCode ?? connack.reasonCode, 0, 'the valid CONNECT before the case is accepted');
      return raw;
    },
    async expect(raw, bytes, { answer = [], open = false } = {}) {
      raw.sendBytes(bytes);
      if (open) {
        await raw.ping();
        assert.equal(raw.closed, false, 'the connection stays open');
      } else {
        await raw.waitClosed(5000);
      }
      const received = raw.packets.splice(0);
      assert.deepEqual(
        received.map((packet, i) => pick(packet, answer[i])),
        answer,
        `the broker answered ${received.map((p) => p.cmd).join(', ') || 'nothing'}`,
      );
      // The healthy subscriber gets a message published after the case.
      const target = sent + 1;
      await waitFor(() => healthyCount() >= target || streamError !== null, 'the healthy subscriber to keep receiving', 10_000);
      assert.equal(streamError, null, 'the healthy publisher keeps publishing');
    },
    received(topic) {
      return subscriber.messages.filter((m) => m.topic === topic).map((m) => m.payload.toString());
    },
    testHealthyPair() {
      test('the healthy subscriber received every message of the healthy publisher, in order, and nothing of the offending packets', async () => {
        running = false;
        await streaming;
        assert.equal(streamError, null);
        assert.ok(sent > 0);
        await waitFor(() => healthyCount() === sent, `all ${sent} healthy messages`, 10_000);
        const healthy = subscriber.messages.filter((m) => m.topic === HEALTHY_TOPIC).map((m) => m.payload.toString());
        assert.deepEqual(healthy, Array.from({ length: sent }, (_, i) => String(i)));
        const leaked = subscriber.messages.filter((m) => m.topic !== HEALTHY_TOPIC && !m.topic.startsWith(ACCEPTED_PREFIX)).map((m) => m.topic);
        assert.deepEqual(leaked, []);
      });
    },
  };

  return suite;
}

/** The fields of `packet` an expected answer names, for a deepEqual that ignores the others. */
function pick(packet: mqttPacket.Packet, expected: Answer | undefined): Answer {
  if (!expected) return { cmd: packet.cmd };
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(expected)) picked[key] = (packet as unknown as Record<string, unknown>)[key];
  return picked as Answer;
}

/** A string's bytes the string rules refuse, with the statement that refuses them. */
export interface BadString {
  label: string;
  bytes: number[];
  rule: string;
}

/** Refused wherever a UTF-8 string is (connection/decode/utf8.ts), in the middle of a valid one. */
export const BAD_STRINGS: BadString[] = [
  { label: 'U+0000', bytes: [0x00], rule: '[MQTT-1.5.3-2]' },
  { label: 'a UTF-16 surrogate, U+D800 (ED A0 80)', bytes: [0xed, 0xa0, 0x80], rule: '[MQTT-1.5.3-1]' },
  { label: 'a UTF-16 surrogate, U+DFFF (ED BF BF)', bytes: [0xed, 0xbf, 0xbf], rule: '[MQTT-1.5.3-1]' },
  { label: "an overlong '/' (C0 AF)", bytes: [0xc0, 0xaf], rule: '[MQTT-1.5.3-1]' },
  { label: 'an overlong U+0000 (E0 80 80)', bytes: [0xe0, 0x80, 0x80], rule: '[MQTT-1.5.3-1]' },
  { label: 'a byte UTF-8 never uses (FF)', bytes: [0xff], rule: '[MQTT-1.5.3-1]' },
  { label: 'a lone continuation byte (80)', bytes: [0x80], rule: '[MQTT-1.5.3-1]' },
  { label: 'a sequence cut short (E2 82)', bytes: [0xe2, 0x82], rule: '[MQTT-1.5.3-1]' },
  { label: 'a code point beyond U+10FFFF (F4 90 80 80)', bytes: [0xf4, 0x90, 0x80, 0x80], rule: '[MQTT-1.5.3-1]' },
  { label: 'the control character U+0001', bytes: [0x01], rule: '[MQTT-1.5.3-3]' },
  { label: 'the control character U+001F', bytes: [0x1f], rule: '[MQTT-1.5.3-3]' },
  { label: 'the control character U+007F', bytes: [0x7f], rule: '[MQTT-1.5.3-3]' },
  { label: 'the control character U+0080 (C2 80)', bytes: [0xc2, 0x80], rule: '[MQTT-1.5.3-3]' },
  { label: 'the control character U+009F (C2 9F)', bytes: [0xc2, 0x9f], rule: '[MQTT-1.5.3-3]' },
  { label: 'the non-character U+FDD0 (EF B7 90)', bytes: [0xef, 0xb7, 0x90], rule: '[MQTT-1.5.3-3]' },
  { label: 'the non-character U+FFFE (EF BF BE)', bytes: [0xef, 0xbf, 0xbe], rule: '[MQTT-1.5.3-3]' },
  { label: 'the non-character U+FFFF (EF BF BF)', bytes: [0xef, 0xbf, 0xbf], rule: '[MQTT-1.5.3-3]' },
  { label: 'the non-character U+1FFFE (F0 9F BF BE)', bytes: [0xf0, 0x9f, 0xbf, 0xbe], rule: '[MQTT-1.5.3-3]' },
  { label: 'the non-character U+10FFFF (F4 8F BF BF)', bytes: [0xf4, 0x8f, 0xbf, 0xbf], rule: '[MQTT-1.5.3-3]' },
];

/** The few of BAD_STRINGS that stand for each rule, where a string is checked like the others. */
export const BAD_STRING_SAMPLES = BAD_STRINGS.filter((_, i) => [0, 1, 3, 9, 13, 16].includes(i));

/** Accepted: well-formed characters next to the refused ones, U+FFFD included (it is a character). */
export const GOOD_STRINGS: { label: string; bytes: number[] }[] = [
  { label: 'U+FFFD (EF BF BD)', bytes: [0xef, 0xbf, 0xbd] },
  { label: 'U+00A0 (C2 A0)', bytes: [0xc2, 0xa0] },
  { label: 'U+FDF0 (EF B7 B0)', bytes: [0xef, 0xb7, 0xb0] },
  { label: 'U+1F600 (F0 9F 98 80)', bytes: [0xf0, 0x9f, 0x98, 0x80] },
];

/** `bytes` inside a valid string. */
export function embed(bytes: number[], before = 'ab', after = 'c'): Buffer {
  return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
}

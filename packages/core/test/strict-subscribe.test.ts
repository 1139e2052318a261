/**
 * SUBSCRIBE and UNSUBSCRIBE, held to MQTT 3.1.1 through raw sockets: every case names the
 * statement it checks, and the broker must close the connection without answering while a
 * healthy publisher/subscriber pair keeps working (strict-suite.ts).
 */
import { describe, test } from 'node:test';
import { ACCEPTED_PREFIX, BAD_STRINGS, BAD_STRING_SAMPLES, embed, GOOD_STRINGS, strictSuite, type Expectation } from './strict-suite.js';
import { wire } from '@skynet-mqtt/test-support';

const { field, packet, subscribe, u16, unsubscribe } = wire;

const suite = strictSuite();

interface Case {
  rule: string;
  name: string;
  bytes: Buffer;
  /** Default: closed without an answer. */
  expect?: Expectation;
}

function run(cases: Case[]): void {
  for (const c of cases) {
    test(`${c.rule} ${c.name}: ${c.expect?.open ? 'accepted' : 'closed'}`, async () => suite.expect(await suite.connected(), c.bytes, c.expect));
  }
}

const SUBACK = (...granted: number[]): Expectation => ({ answer: [{ cmd: 'suback', messageId: 7, granted }], open: true });
const UNSUBACK: Expectation = { answer: [{ cmd: 'unsuback', messageId: 7 }], open: true };

describe('SUBSCRIBE', () => {
  run([
    { rule: '[MQTT-3.8.3-3]', name: 'no topic filter at all', bytes: subscribe(7) },
    { rule: '[MQTT-4.7.3-1]', name: 'a zero-length filter', bytes: subscribe(7, ['', 0]) },
    { rule: '[MQTT-4.7.3-1]', name: 'a zero-length filter after a valid one', bytes: subscribe(7, ['a/b', 1], ['', 0]) },
    { rule: '[MQTT-4.7.1-2]', name: "'#' not last", bytes: subscribe(7, ['a/#/b', 0]) },
    { rule: '[MQTT-4.7.1-2]', name: "'#' not alone in its level", bytes: subscribe(7, ['a/b#', 0]) },
    { rule: '[MQTT-4.7.1-3]', name: "'+' not alone in its level", bytes: subscribe(7, ['a/b+/c', 0]) },
    { rule: '[MQTT-3.8.3-4]', name: 'requested QoS 3', bytes: subscribe(7, ['a', 3]) },
    { rule: '[MQTT-3.8.3-4]', name: 'a reserved bit set in the requested QoS byte', bytes: subscribe(7, ['a', 0x04]) },
    { rule: '[MQTT-2.3.1-1]', name: 'packet identifier 0', bytes: subscribe(0, ['a', 0]) },
    { rule: '[MQTT-3.8.1-1]', name: 'fixed header flags 0000', bytes: packet(0x80, u16(7), field('a'), [0]) },
    { rule: '[MQTT-2.2.3]', name: 'a remaining length that ends inside a filter', bytes: packet(0x82, u16(7), u16(10), 'abc') },
    { rule: '[MQTT-2.2.3]', name: 'a remaining length that ends before the requested QoS', bytes: packet(0x82, u16(7), field('a/b')) },
    { rule: '[MQTT-2.2.3]', name: 'a remaining length that ends inside the packet identifier', bytes: packet(0x82, [0]) },
    ...BAD_STRINGS.map((bad) => ({ rule: bad.rule, name: `a filter with ${bad.label}`, bytes: subscribe(7, [embed(bad.bytes), 0]) })),
    ...GOOD_STRINGS.map((good) => ({ rule: '[MQTT-1.5.3]', name: `a filter with ${good.label}`, bytes: subscribe(7, [embed(good.bytes, ACCEPTED_PREFIX), 1]), expect: SUBACK(1) })),
    { rule: '[MQTT-3.8.4-4]', name: 'several valid filters', bytes: subscribe(7, ['a/+', 0], ['a/#', 1], ['b', 2]), expect: SUBACK(0, 1, 2) },
  ]);
});

describe('UNSUBSCRIBE', () => {
  run([
    { rule: '[MQTT-3.10.3-2]', name: 'no topic filter at all', bytes: unsubscribe(7) },
    { rule: '[MQTT-4.7.3-1]', name: 'a zero-length filter', bytes: unsubscribe(7, '') },
    { rule: '[MQTT-4.7.3-1]', name: 'a zero-length filter after a valid one', bytes: unsubscribe(7, 'a/b', '') },
    { rule: '[MQTT-4.7.1-2]', name: "'#' not last", bytes: unsubscribe(7, 'a/#/b') },
    { rule: '[MQTT-2.3.1-1]', name: 'packet identifier 0', bytes: unsubscribe(0, 'a') },
    { rule: '[MQTT-3.10.1-1]', name: 'fixed header flags 0000', bytes: packet(0xa0, u16(7), field('a')) },
    { rule: '[MQTT-2.2.3]', name: 'a remaining length that ends inside a filter', bytes: packet(0xa2, u16(7), u16(10), 'abc') },
    ...BAD_STRING_SAMPLES.map((bad) => ({ rule: bad.rule, name: `a filter with ${bad.label}`, bytes: unsubscribe(7, embed(bad.bytes)) })),
    { rule: '[MQTT-3.10.4-5]', name: 'filters not subscribed to', bytes: unsubscribe(7, 'a/b', 'a/#'), expect: UNSUBACK },
  ]);
});

suite.testHealthyPair();

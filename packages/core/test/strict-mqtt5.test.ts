/**
 * The MQTT 5 layouts of the packets the broker decodes itself (connection/decode/): properties
 * where each packet may carry them, subscription options, reason codes. A malformed packet is
 * answered with reason code 0x81 (0x82 for a protocol error) in CONNACK or DISCONNECT, then
 * closed [MQTT-4.13.1-1]; beside a healthy publisher/subscriber pair (strict-suite.ts).
 */
import { describe, test } from 'node:test';
import { wire } from '@skynet-mqtt/test-support';
import { ACCEPTED_PREFIX, strictSuite, type Expectation } from './strict-suite.js';

const { field, packet, u16 } = wire;

const suite = strictSuite();

const MALFORMED = 0x81;
const PROTOCOL_ERROR = 0x82;
const refusedWith = (reasonCode: number): Expectation => ({ answer: [{ cmd: 'connack', reasonCode }] });
const disconnectedWith = (reasonCode: number): Expectation => ({ answer: [{ cmd: 'disconnect', reasonCode }] });

let ids = 0;
const id = () => `strict-v5-${process.pid}-${++ids}`;
/** A 5.0 CONNECT: connect flags, the property list's bytes (length first), the client id, then `rest` as it is. */
const connect5 = (flags: number, properties: number[], ...rest: wire.Bytes[]) => packet(0x10, field('MQTT'), [5, flags, 0, 0], properties, field(id()), ...rest);
/** A User Property (0x26) with any bytes as its value. */
const userProperty = (value: number[]) => [0x26, 0, 1, 0x6b, ...u16(value.length), ...value];

describe('MQTT 5 CONNECT', () => {
  const cases: { name: string; bytes: () => Buffer; expect: Expectation }[] = [
    { name: 'a property CONNECT may not carry (Topic Alias): 0x81', bytes: () => connect5(0x02, [3, 0x23, 0, 1]), expect: refusedWith(MALFORMED) },
    { name: 'a User Property with U+0000 [MQTT-1.5.4-2]: 0x81', bytes: () => connect5(0x02, [7, ...userProperty([0x61, 0x00])]), expect: refusedWith(MALFORMED) },
    { name: 'a property list longer than the packet: 0x81', bytes: () => connect5(0x02, [40, 0x11, 0, 0, 0, 1]), expect: refusedWith(MALFORMED) },
    { name: 'a will property a will may not carry (Session Expiry): 0x81', bytes: () => connect5(0x06, [0], [5, 0x11, 0, 0, 0, 1], field('w'), field('m')), expect: refusedWith(MALFORMED) },
    { name: 'the reserved connect flag set [MQTT-3.1.2-3]: 0x81', bytes: () => connect5(0x03, [0]), expect: refusedWith(MALFORMED) },
    { name: 'a password without a user name (allowed in 5.0): accepted', bytes: () => connect5(0x42, [0], field('secret')), expect: { answer: [{ cmd: 'connack', reasonCode: 0 }], open: true } },
  ];
  for (const c of cases) test(c.name, async () => suite.expect(await suite.raw(5), c.bytes(), c.expect));
});

describe('MQTT 5 packets after CONNECT', () => {
  const cases: { name: string; bytes: Buffer; expect: Expectation }[] = [
    { name: 'SUBSCRIBE options with reserved bits set [MQTT-3.8.3-5]: 0x81', bytes: packet(0x82, u16(7), [0], field('a'), [0xc1]), expect: disconnectedWith(MALFORMED) },
    { name: 'SUBSCRIBE with Retain Handling 3: 0x82', bytes: packet(0x82, u16(7), [0], field('a'), [0x31]), expect: disconnectedWith(PROTOCOL_ERROR) },
    { name: 'SUBSCRIBE with a property it may not carry (Topic Alias): 0x81', bytes: packet(0x82, u16(7), [3, 0x23, 0, 1], field('a'), [1]), expect: disconnectedWith(MALFORMED) },
    { name: 'SUBSCRIBE with QoS 1, No Local, Retain As Published, Retain Handling 2: SUBACK 1', bytes: packet(0x82, u16(7), [0], field(`${ACCEPTED_PREFIX}v5`), [0x2d]), expect: { answer: [{ cmd: 'suback', messageId: 7, granted: [1] }], open: true } },
    { name: 'UNSUBSCRIBE without a filter after its properties [MQTT-3.10.3-2]: 0x81', bytes: packet(0xa2, u16(7), [0]), expect: disconnectedWith(MALFORMED) },
    { name: 'PUBACK with a reason code PUBACK does not have (0x05): 0x81', bytes: packet(0x40, u16(5), [0x05]), expect: disconnectedWith(MALFORMED) },
    { name: 'PUBREC with bytes after its properties: 0x81', bytes: packet(0x50, u16(5), [0x00, 0x00, 0xff]), expect: disconnectedWith(MALFORMED) },
    { name: 'PUBACK 0x10 with a Reason String for an id not in flight: ignored', bytes: packet(0x40, u16(5), [0x10, 4, 0x1f, 0, 1, 0x78]), expect: { open: true } },
    { name: 'PUBLISH to a topic with a control character [MQTT-1.5.4-3]: 0x81', bytes: packet(0x30, field('a\u0001'), [0], 'x'), expect: disconnectedWith(MALFORMED) },
    { name: 'DISCONNECT with a reason code DISCONNECT does not have (0x05): 0x81', bytes: packet(0xe0, [0x05]), expect: disconnectedWith(MALFORMED) },
  ];
  for (const c of cases) test(c.name, async () => suite.expect(await suite.connected(5), c.bytes, c.expect));
});

suite.testHealthyPair();

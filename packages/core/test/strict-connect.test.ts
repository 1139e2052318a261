/**
 * CONNECT, held to MQTT 3.1.1 (and 3.1) through raw sockets: every case names the statement it
 * checks, and the broker must close the connection without a CONNACK (or answer exactly as the
 * specification says) while a healthy publisher/subscriber pair keeps working (strict-suite.ts).
 */
import { describe, test } from 'node:test';
import { BAD_STRINGS, BAD_STRING_SAMPLES, embed, GOOD_STRINGS, strictSuite, type Expectation } from './strict-suite.js';
import { wire } from '@skynet-mqtt/test-support';

const { connect, field, packet, u16 } = wire;

const suite = strictSuite();

const CLOSED: Expectation = {};
const ACCEPTED: Expectation = { answer: [{ cmd: 'connack', returnCode: 0 }], open: true };
/** [MQTT-3.1.2-2] an unsupported protocol level is answered with CONNACK 1, then closed. */
const UNACCEPTABLE_LEVEL: Expectation = { answer: [{ cmd: 'connack', returnCode: 1 }] };

let ids = 0;
/** A fresh client id, so no case takes another's session over. */
const id = () => `strict-connect-${process.pid}-${++ids}`;

interface Case {
  rule: string;
  name: string;
  bytes: () => Buffer;
  expect: Expectation;
}

function run(cases: Case[]): void {
  for (const c of cases) {
    const outcome = c.expect.open ? 'accepted' : c.expect.answer?.length ? `answered ${c.expect.answer.map((a) => a.cmd).join(', ')}, then closed` : 'closed';
    test(`${c.rule} ${c.name}: ${outcome}`, async () => suite.expect(await suite.raw(), c.bytes(), c.expect));
  }
}

describe('connect flags', () => {
  run([
    { rule: '[MQTT-3.1.2-14]', name: 'will flag 1 with will QoS 3', bytes: () => connect({ flags: 0x1e, clientId: id(), payload: ['w', 'm'] }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-13]', name: 'will flag 0 with will QoS 1', bytes: () => connect({ flags: 0x0a, clientId: id() }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-13]', name: 'will flag 0 with will QoS 2', bytes: () => connect({ flags: 0x12, clientId: id() }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-15]', name: 'will flag 0 with will retain 1', bytes: () => connect({ flags: 0x22, clientId: id() }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-11]', name: 'will flag 0 with a will topic and message present', bytes: () => connect({ flags: 0x02, clientId: id(), payload: ['w', 'm'] }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-9]', name: 'will flag 1 without a will topic and message', bytes: () => connect({ flags: 0x06, clientId: id() }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-22]', name: 'password flag 1 with user name flag 0', bytes: () => connect({ flags: 0x42, clientId: id(), payload: ['secret'] }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-18]', name: 'user name flag 0 with a user name present', bytes: () => connect({ flags: 0x02, clientId: id(), payload: ['user'] }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-19]', name: 'user name flag 1 without a user name', bytes: () => connect({ flags: 0x82, clientId: id() }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-20]', name: 'password flag 0 with a password present', bytes: () => connect({ flags: 0x82, clientId: id(), payload: ['user', 'secret'] }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-21]', name: 'password flag 1 without a password', bytes: () => connect({ flags: 0xc2, clientId: id(), payload: ['user'] }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-3]', name: 'the reserved connect flag set (level 4)', bytes: () => connect({ flags: 0x03, clientId: id() }), expect: CLOSED },
    { rule: '[MQTT-2.2.2-2]', name: 'fixed header flags 0100 (level 4)', bytes: () => connect({ first: 0x14, clientId: id() }), expect: CLOSED },
    { rule: '[MQTT-3.1.2-9]', name: 'will flag 1 with QoS 2 and retain, topic and message present', bytes: () => connect({ flags: 0x36, clientId: id(), payload: ['accepted/will', 'm'] }), expect: ACCEPTED },
    { rule: '[MQTT-3.1.2-19] [MQTT-3.1.2-21]', name: 'a user name and a binary password (00 FF)', bytes: () => connect({ flags: 0xc2, clientId: id(), payload: ['user', Buffer.from([0, 0xff])] }), expect: ACCEPTED },
  ]);
});

describe('protocol name and level', () => {
  // The bytes: MQIsdp, level 3, connect flags 0x01 (MQTT 3.1 reserves no bit), keepalive 10, id "p".
  const v31 = '00064d51497364700301000a000170';
  run([
    { rule: 'MQTT 3.1', name: 'a minimal 3.1 CONNECT with connect flag bit 0 set', bytes: () => Buffer.from(`100f${v31}`, 'hex'), expect: ACCEPTED },
    { rule: 'MQTT 3.1', name: 'the same with fixed header flags 0100', bytes: () => Buffer.from(`140f${v31}`, 'hex'), expect: ACCEPTED },
    { rule: '[MQTT-3.1.2-2]', name: "protocol name 'MQTT' with level 3", bytes: () => connect({ level: 3, clientId: id() }), expect: UNACCEPTABLE_LEVEL },
    { rule: '[MQTT-3.1.2-2]', name: "protocol name 'MQIsdp' with level 4", bytes: () => connect({ name: 'MQIsdp', level: 4, clientId: id() }), expect: UNACCEPTABLE_LEVEL },
    { rule: '[MQTT-3.1.2-2]', name: 'level 6', bytes: () => connect({ level: 6, clientId: id() }), expect: UNACCEPTABLE_LEVEL },
    { rule: '[MQTT-3.1.2-1]', name: "protocol name 'MQTX'", bytes: () => connect({ name: 'MQTX', clientId: id() }), expect: CLOSED },
    { rule: 'bridges', name: "level 0x84 (Mosquitto's try_private bridge flag)", bytes: () => connect({ level: 0x84, clientId: id() }), expect: ACCEPTED },
    { rule: '[MQTT-2.2.3]', name: 'a remaining length that ends inside the client identifier', bytes: () => packet(0x10, field('MQTT'), [4, 2, 0, 0], u16(10), 'abc'), expect: CLOSED },
    { rule: '[MQTT-2.2.3]', name: 'a remaining length that ends inside the protocol level', bytes: () => packet(0x10, field('MQTT')), expect: CLOSED },
  ]);

  test('[MQTT-3.1.0-2] a second CONNECT: closed', async () => {
    await suite.expect(await suite.connected(), connect({ clientId: id() }));
  });
});

describe('client identifier [MQTT-3.1.3-4]', () => {
  run([
    ...BAD_STRINGS.map((bad) => ({ rule: bad.rule, name: `a client identifier with ${bad.label}`, bytes: () => connect({ clientId: embed(bad.bytes, id()) }), expect: CLOSED })),
    ...GOOD_STRINGS.map((good) => ({ rule: '[MQTT-1.5.3]', name: `a client identifier with ${good.label}`, bytes: () => connect({ clientId: embed(good.bytes, id()) }), expect: ACCEPTED })),
  ]);
});

describe('user name [MQTT-3.1.3-11] and will topic [MQTT-3.1.3-10]', () => {
  run([
    ...BAD_STRING_SAMPLES.map((bad) => ({ rule: bad.rule, name: `a user name with ${bad.label}`, bytes: () => connect({ flags: 0x82, clientId: id(), payload: [embed(bad.bytes)] }), expect: CLOSED })),
    ...BAD_STRING_SAMPLES.map((bad) => ({ rule: bad.rule, name: `a will topic with ${bad.label}`, bytes: () => connect({ flags: 0x06, clientId: id(), payload: [embed(bad.bytes), 'm'] }), expect: CLOSED })),
    { rule: '[MQTT-3.3.2-2]', name: "a will topic with '#'", bytes: () => connect({ flags: 0x06, clientId: id(), payload: ['will/#', 'm'] }), expect: CLOSED },
    { rule: '[MQTT-3.3.2-2]', name: "a will topic with '+'", bytes: () => connect({ flags: 0x06, clientId: id(), payload: ['will/+/x', 'm'] }), expect: CLOSED },
    { rule: '[MQTT-4.7.3-1]', name: 'an empty will topic', bytes: () => connect({ flags: 0x06, clientId: id(), payload: ['', 'm'] }), expect: CLOSED },
  ]);
});

suite.testHealthyPair();

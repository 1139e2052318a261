import type { QoS } from 'mqtt-packet';
import type { ProtocolLevel } from '../../types.js';
import type { ConnectPacket } from '../inbound-packets.js';
import { CONNECT_PROPERTIES, WILL_PROPERTIES } from '../properties.js';
import { ProtocolViolation, Reason } from '../reason-codes.js';
import { Fields } from './fields.js';

const MQTT = Buffer.from('MQTT');
const MQISDP = Buffer.from('MQIsdp');

const USER_NAME = 0x80;
const PASSWORD = 0x40;
const WILL_RETAIN = 0x20;
const WILL = 0x04;
const CLEAN_SESSION = 0x02;
const RESERVED = 0x01;

/**
 * CONNECT, decoded and held to the rules of MQTT 3.1 (level 3), 3.1.1 (level 4) and 5.0 (level
 * 5), section 3.1 of each. `first` is the packet's first byte. MQTT 3.1 reserves nothing in its
 * CONNECT's fixed header flags or in connect flag bit 0 (they are "not used"), so those are
 * checked for 3.1.1 and 5.0 only, as Mosquitto does. The will topic's wildcards and emptiness are
 * the handler's to refuse (a 5.0 client is answered CONNACK 0x90).
 */
export function decodeConnect(buffer: Buffer, first: number, start: number, end: number): ConnectPacket {
  const fields = new Fields(buffer, start, end, 'CONNECT');
  const name = fields.rawString('protocol name');
  const mqtt = name.equals(MQTT);
  if (!mqtt && !name.equals(MQISDP)) fields.fail('unknown protocol name [MQTT-3.1.2-1]');
  // The top bit marks a bridge (Mosquitto's try_private) and is otherwise ignored, as Mosquitto does.
  const level = fields.byte('protocol level') & 0x7f;
  if (mqtt ? level !== 4 && level !== 5 : level !== 3) {
    throw new ProtocolViolation(`CONNECT: protocol level ${level} is not supported [MQTT-3.1.2-2]`, Reason.UnsupportedProtocolVersion);
  }
  const v31 = level === 3;
  if (!v31 && (first & 0x0f) !== 0) fields.fail('reserved fixed header flags set [MQTT-2.2.2-2]');

  const flags = fields.byte('connect flags');
  if (!v31 && flags & RESERVED) fields.fail('reserved connect flag set [MQTT-3.1.2-3]');
  const will = (flags & WILL) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & WILL_RETAIN) !== 0;
  if (!will && (willQos !== 0 || willRetain)) fields.fail('will QoS or will retain set without the will flag [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]');
  if (willQos === 3) fields.fail('will QoS 3 [MQTT-3.1.2-14]');
  // MQTT 5 allows a password without a user name (section 3.1.2.9).
  if (level !== 5 && flags & PASSWORD && !(flags & USER_NAME)) fields.fail('password flag without the user name flag [MQTT-3.1.2-22]');

  const packet: ConnectPacket = {
    cmd: 'connect',
    protocolId: mqtt ? 'MQTT' : 'MQIsdp',
    protocolVersion: level as ProtocolLevel,
    clean: (flags & CLEAN_SESSION) !== 0,
    keepalive: fields.uint16('keep alive'),
    clientId: '',
  };
  if (level === 5) packet.properties = fields.properties(CONNECT_PROPERTIES);
  packet.clientId = fields.string('client identifier'); // [MQTT-3.1.3-4]
  if (will) {
    const properties = level === 5 ? fields.properties(WILL_PROPERTIES) : undefined;
    const topic = fields.string('will topic'); // [MQTT-3.1.3-10]
    packet.will = { topic, payload: fields.binary('will message'), qos: willQos as QoS, retain: willRetain, properties };
  }
  if (flags & USER_NAME) packet.username = fields.string('user name'); // [MQTT-3.1.3-11]
  if (flags & PASSWORD) packet.password = fields.binary('password');
  // A field present without its flag shows as bytes after the last field.
  fields.done('bytes after its last field (a field without its flag) [MQTT-3.1.2-18] [MQTT-3.1.2-20]');
  return packet;
}

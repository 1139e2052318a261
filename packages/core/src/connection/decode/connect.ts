import type { IConnectPacket, QoS } from 'mqtt-packet';
import { ProtocolError } from '../protocol-error.js';
import { Fields } from './fields.js';

const MQTT = Buffer.from('MQTT');
const MQISDP = Buffer.from('MQIsdp');
/** CONNACK return code for a protocol level the broker does not speak. [MQTT-3.2.2-4] */
const UNACCEPTABLE_PROTOCOL_LEVEL = 1;

const USER_NAME = 0x80;
const PASSWORD = 0x40;
const WILL_RETAIN = 0x20;
const WILL = 0x04;
const CLEAN_SESSION = 0x02;
const RESERVED = 0x01;

/**
 * CONNECT, decoded and held to the rules of MQTT 3.1.1 (level 4) and 3.1 (level 3), section 3.1.
 * `first` is the packet's first byte. MQTT 3.1 reserves nothing in its CONNECT's fixed header
 * flags or in connect flag bit 0 (they are "not used"), so those are checked for 3.1.1 only,
 * as Mosquitto does.
 */
export function decodeConnect(buffer: Buffer, first: number, start: number, end: number): IConnectPacket {
  const fields = new Fields(buffer, start, end, 'CONNECT');
  const name = fields.rawString('protocol name');
  const mqtt = name.equals(MQTT);
  if (!mqtt && !name.equals(MQISDP)) fields.fail('unknown protocol name [MQTT-3.1.2-1]');
  // The top bit marks a bridge (Mosquitto's try_private) and is otherwise ignored, as Mosquitto does.
  const level = fields.byte('protocol level') & 0x7f;
  if (level !== (mqtt ? 4 : 3)) {
    throw new ProtocolError(`CONNECT: protocol level ${level} is not supported [MQTT-3.1.2-2]`, UNACCEPTABLE_PROTOCOL_LEVEL);
  }
  const v311 = level === 4;
  if (v311 && (first & 0x0f) !== 0) fields.fail('reserved fixed header flags set [MQTT-2.2.2-2]');

  const flags = fields.byte('connect flags');
  if (v311 && flags & RESERVED) fields.fail('reserved connect flag set [MQTT-3.1.2-3]');
  const will = (flags & WILL) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & WILL_RETAIN) !== 0;
  if (!will && (willQos !== 0 || willRetain)) fields.fail('will QoS or will retain set without the will flag [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]');
  if (willQos === 3) fields.fail('will QoS 3 [MQTT-3.1.2-14]');
  if (flags & PASSWORD && !(flags & USER_NAME)) fields.fail('password flag without the user name flag [MQTT-3.1.2-22]');

  const packet: IConnectPacket = {
    cmd: 'connect',
    protocolId: mqtt ? 'MQTT' : 'MQIsdp',
    protocolVersion: level,
    clean: (flags & CLEAN_SESSION) !== 0,
    keepalive: fields.uint16('keep alive'),
    clientId: fields.string('client identifier'), // [MQTT-3.1.3-4]
  };
  if (will) {
    const topic = fields.string('will topic', true); // [MQTT-3.1.3-10]
    if (topic === '') fields.fail('empty will topic [MQTT-4.7.3-1]');
    packet.will = { topic, payload: fields.binary('will message'), qos: willQos as QoS, retain: willRetain };
  }
  if (flags & USER_NAME) packet.username = fields.string('user name'); // [MQTT-3.1.3-11]
  if (flags & PASSWORD) packet.password = fields.binary('password');
  // A field present without its flag shows as bytes after the last field.
  fields.done('bytes after its last field (a field without its flag) [MQTT-3.1.2-18] [MQTT-3.1.2-20]');
  return packet;
}

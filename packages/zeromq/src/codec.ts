import { decodeMessageProperties, encodeMessageProperties, type Message, type QoS } from '@skynet-mqtt/core';

/**
 * What travels between instances, as ZeroMQ frames. Pure functions: no I/O.
 *
 * On the PUB sockets, multipart messages whose first frame says what they are:
 *   message: [ 'm' + flags, topic (UTF-8), payload, id (UTF-8), [MQTT 5 properties], [expiresAt] ]
 *            flags = qos | retain << 2 | hasProperties << 3 | hasExpiry << 4; properties encoded as
 *            on the MQTT wire, expiresAt (epoch ms) as a float64
 *   marker:  [ 'k', requester id, token ]                 (see ZeromqEmitter.sync)
 * Topic and payload are frames of their own: a topic may hold any character, spaces included, and
 * the payload is never decoded.
 *
 * On the control sockets, one JSON frame per request or reply (`Hello`).
 */

const MESSAGE = 0x6d; // 'm'
const MARKER = 0x6b; // 'k'
const RETAIN = 0b100;
const HAS_PROPERTIES = 0b1000;
const HAS_EXPIRY = 0b10000;

export function encodeMessage(message: Message): Buffer[] {
  const properties = encodeMessageProperties(message);
  const flags = message.qos | (message.retain ? RETAIN : 0) | (properties ? HAS_PROPERTIES : 0) | (message.expiresAt !== undefined ? HAS_EXPIRY : 0);
  const frames = [Buffer.from([MESSAGE, flags]), Buffer.from(message.topic), message.payload, Buffer.from(message.id)];
  if (properties) frames.push(properties);
  if (message.expiresAt !== undefined) {
    const expiry = Buffer.allocUnsafe(8);
    expiry.writeDoubleBE(message.expiresAt);
    frames.push(expiry);
  }
  return frames;
}

export function encodeMarker(requester: string, token: string): Buffer[] {
  return [Buffer.from([MARKER]), Buffer.from(requester), Buffer.from(token)];
}

export type Frames =
  | { kind: 'message'; message: Message }
  | { kind: 'marker'; requester: string; token: string };

/** Frames read from a SUB socket; throws on frames no ZeroMQ emitter wrote. */
export function decodeFrames(frames: readonly Buffer[]): Frames {
  const head = frames[0];
  const flags = head?.[1] ?? 0;
  const withProperties = (flags & HAS_PROPERTIES) !== 0;
  const withExpiry = (flags & HAS_EXPIRY) !== 0;
  if (head?.[0] === MESSAGE && head.length === 2 && frames.length === 4 + Number(withProperties) + Number(withExpiry)) {
    const qos = flags & 0b11;
    if (qos > 2) throw new Error(`invalid QoS ${qos}`);
    // A copy: the payload must not pin ZeroMQ's receive buffer.
    const message: Message = { id: frames[3]!.toString('utf8'), topic: frames[1]!.toString('utf8'), payload: Buffer.from(frames[2]!), qos: qos as QoS, retain: (flags & RETAIN) !== 0 };
    const properties = withProperties ? decodeMessageProperties(frames[4]!).properties : undefined;
    if (properties) message.properties = properties;
    const expiry = withExpiry ? frames[withProperties ? 5 : 4] : undefined;
    if (expiry) {
      if (expiry.length !== 8) throw new Error('an expiry frame that is not 8 bytes');
      message.expiresAt = expiry.readDoubleBE(0);
    }
    return { kind: 'message', message };
  }
  if (head?.[0] === MARKER && head.length === 1 && frames.length === 3) {
    return { kind: 'marker', requester: frames[1]!.toString(), token: frames[2]!.toString() };
  }
  throw new Error(`unknown frames (${frames.length} frames, first byte ${head?.[0]})`);
}

/**
 * The control exchange: each instance sends this to every peer's control socket every heartbeat,
 * and the peer answers with its own. `mark`, when present, asks the peer to publish a marker with
 * that token on its PUB socket: once it arrives, everything the peer published before is here.
 */
export interface Hello {
  /** The sender's instance id (random per start: a new one means it restarted). */
  id: string;
  /** Its PUB address, its control address, and the control addresses of the peers it knows. */
  pub: string;
  control: string;
  peers: string[];
  /** The ids of the peers whose markers reach the sender: it receives what they publish. */
  joined: string[];
  mark?: string;
}

export function encodeHello(hello: Hello): Buffer {
  return Buffer.from(JSON.stringify(hello));
}

export function decodeHello(frame: Buffer | undefined): Hello {
  const value: unknown = JSON.parse(frame?.toString() ?? '');
  const h = value as Partial<Hello>;
  const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
  if (!isString(h.id) || !isString(h.pub) || !isString(h.control) || !strings(h.peers) || !strings(h.joined) || (h.mark !== undefined && !isString(h.mark))) {
    throw new Error('not a Skynet MQTT hello');
  }
  return { id: h.id, pub: h.pub, control: h.control, peers: h.peers, joined: h.joined, ...(h.mark === undefined ? {} : { mark: h.mark }) };
}

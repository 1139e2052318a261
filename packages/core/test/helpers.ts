/**
 * Shared test helpers: a broker on a free port, mqtt.js clients that collect what they receive,
 * and a raw socket client for packets mqtt.js would refuse to send.
 */
import net from 'node:net';
import { once, type EventEmitter } from 'node:events';
import type { TestContext } from 'node:test';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { Server, type ServerOptions } from '../src/index.js';

export interface TestBroker {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** A broker on 127.0.0.1 and a free port, silent unless LOG_LEVEL is set. */
export async function startBroker(options: ServerOptions = {}): Promise<TestBroker> {
  const server = await Server.start({
    port: 0,
    host: '127.0.0.1',
    logger: process.env.LOG_LEVEL ? { level: process.env.LOG_LEVEL } : false,
    ...options,
  });
  const port = server.address()[0]!.port;
  return { server, port, url: `mqtt://127.0.0.1:${port}`, close: () => server.close() };
}

export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
  /** MQTT 5 properties as mqtt.js reads them (User Properties by name). */
  properties?: mqttPacket.IPublishPacket['properties'];
}

export interface TestClient {
  client: mqtt.MqttClient;
  /** Every PUBLISH received, in order. */
  messages: Received[];
  connack: mqttPacket.IConnackPacket;
  end(force?: boolean): Promise<void>;
}

/** Connects with handlers attached before CONNECT goes out, so nothing received is missed. */
export async function connect(url: string, options: mqtt.IClientOptions = {}): Promise<TestClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, qos: packet.qos, retain: packet.retain, dup: packet.dup, properties: packet.properties });
  });
  const connack = await new Promise<mqttPacket.IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return {
    client,
    messages,
    connack,
    end: (force = false) => new Promise<void>((resolve) => client.end(force, {}, () => resolve())),
  };
}

/** Waits until `condition` holds, or fails after `timeoutMs` with `what` in the message. */
export async function waitFor(condition: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A socket speaking raw MQTT packets, for what a client library would refuse to send. */
export class RawClient {
  readonly packets: mqttPacket.Packet[] = [];
  /** Every byte received, for checks finer than the parser's view (property order, sizes). */
  readonly received: Buffer[] = [];
  closed = false;
  /** Date.now() when the socket was opened, and when it closed. */
  readonly openedAt = Date.now();
  closedAt = 0;
  private readonly parser: mqttPacket.Parser;

  private constructor(
    readonly socket: net.Socket,
    /** The protocol level packets are written and read in (5 for MQTT 5). */
    readonly protocolVersion: 3 | 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion });
    this.parser.on('packet', (packet: mqttPacket.Packet) => this.packets.push(packet));
    socket.on('data', (chunk) => {
      this.received.push(chunk);
      this.parser.parse(chunk);
    });
    const onClosed = () => {
      if (this.closed) return;
      this.closed = true;
      this.closedAt = Date.now();
    };
    socket.on('close', onClosed);
    socket.on('error', onClosed);
  }

  static async connect(port: number, protocolVersion: 3 | 4 | 5 = 4): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket, protocolVersion);
  }

  send(packet: mqttPacket.Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  sendBytes(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.from(bytes));
  }

  /** Waits for the next packet of `cmd` not yet taken, and takes it. */
  async next<C extends mqttPacket.Packet['cmd']>(cmd: C, timeoutMs = 3000): Promise<Extract<mqttPacket.Packet, { cmd: C }>> {
    let index = -1;
    await waitFor(() => (index = this.packets.findIndex((p) => p.cmd === cmd)) >= 0, `a ${cmd} packet`, timeoutMs);
    return this.packets.splice(index, 1)[0] as Extract<mqttPacket.Packet, { cmd: C }>;
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    await waitFor(() => this.closed, 'the broker to close the connection', timeoutMs);
  }

  /** CONNECT with MQTT 3.1.1 defaults, then the CONNACK. */
  async handshake(fields: Partial<mqttPacket.IConnectPacket> = {}): Promise<mqttPacket.IConnackPacket> {
    this.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: this.protocolVersion, clean: true, keepalive: 0, clientId: `raw-${Math.random().toString(16).slice(2)}`, ...fields });
    return this.next('connack');
  }

  /** SUBSCRIBE, then the SUBACK's return codes, one per filter in order. */
  async subscribe(subscriptions: { topic: string; qos: number }[], messageId = 1): Promise<number[]> {
    this.send({ cmd: 'subscribe', messageId, subscriptions: subscriptions as mqttPacket.ISubscription[] });
    const suback = await this.next('suback');
    if (suback.messageId !== messageId) throw new Error(`SUBACK for id ${suback.messageId}, expected ${messageId}`);
    return suback.granted as number[];
  }

  /**
   * PINGREQ, then the PINGRESP: a barrier. Whatever the broker wrote to this socket before it
   * handled the PINGREQ has been received once this resolves.
   */
  async ping(): Promise<void> {
    this.send({ cmd: 'pingreq' });
    await this.next('pingresp');
  }

  /** Packets of `cmd` received and not yet taken. */
  pending<C extends mqttPacket.Packet['cmd']>(cmd: C): Extract<mqttPacket.Packet, { cmd: C }>[] {
    return this.packets.filter((p) => p.cmd === cmd) as Extract<mqttPacket.Packet, { cmd: C }>[];
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * CONNECT bytes written by hand, for what mqtt-packet refuses to generate (an unknown protocol
 * level, an empty client id without clean session). No will, no credentials, keepalive 60; at
 * level 5 no properties.
 */
export function connectBytes({ protocolId = 'MQTT', level = 4, clean = true, clientId = '' } = {}): Buffer {
  const string = (text: string) => [...Buffer.from([0, Buffer.byteLength(text)]), ...Buffer.from(text)];
  const properties = level === 5 ? [0] : []; // MQTT 5: an empty property list
  const body = [...string(protocolId), level, clean ? 0x02 : 0x00, 0x00, 0x3c, ...properties, ...string(clientId)];
  return Buffer.from([0x10, body.length, ...body]);
}

export interface Fixture extends TestBroker {
  /** An mqtt.js client of this broker, ended when the test ends. */
  connect(options?: mqtt.IClientOptions): Promise<TestClient>;
  /** A raw socket to this broker (MQTT 5 packets with `protocolVersion` 5), destroyed when the test ends. */
  raw(protocolVersion?: 3 | 4 | 5): Promise<RawClient>;
}

/** A broker for one test: closed, with every client opened through it, when the test ends. */
export async function useBroker(t: TestContext, options: ServerOptions = {}): Promise<Fixture> {
  const broker = await startBroker(options);
  const clients: TestClient[] = [];
  const raws: RawClient[] = [];
  t.after(async () => {
    for (const raw of raws) raw.close();
    await Promise.all(clients.map((c) => c.end(true)));
    await broker.close();
  });
  return {
    ...broker,
    async connect(clientOptions = {}) {
      const client = await connect(broker.url, clientOptions);
      clients.push(client);
      return client;
    },
    async raw(protocolVersion = 4) {
      const raw = await RawClient.connect(broker.port, protocolVersion);
      raws.push(raw);
      return raw;
    },
  };
}

export interface Emitted {
  name: string;
  args: unknown[];
}

/** Records every emission of the named events, in order, with their arguments. */
export function recordEvents(emitter: EventEmitter, names: string[]): Emitted[] {
  const events: Emitted[] = [];
  for (const name of names) emitter.on(name, (...args: unknown[]) => events.push({ name, args }));
  return events;
}

/**
 * Resolves with the reason once the server has emitted `clientDisconnected` for `clientId`: its
 * session has ended by then (will routed, clean session forgotten). Call it before the disconnect.
 */
export function disconnectionOf(server: EventEmitter, clientId: string): Promise<string> {
  return new Promise((resolve) => {
    const listener = (client: { id: string }, reason: string) => {
      if (client.id !== clientId) return;
      server.off('clientDisconnected', listener);
      resolve(reason);
    };
    server.on('clientDisconnected', listener);
  });
}

/** Disconnects `tc` with DISCONNECT and waits until the broker has ended its session. */
export async function disconnect(broker: TestBroker, tc: TestClient): Promise<void> {
  const ended = disconnectionOf(broker.server, tc.client.options.clientId!);
  await tc.end();
  await ended;
}

/**
 * Proves a connected client still publishes and receives: it subscribes to a fresh topic, publishes
 * to it at QoS 1 and waits for the message. Deliveries to one connection keep their order, so
 * whatever was routed to this client before has arrived by then: a cheap "nothing else is coming".
 */
export async function roundTrip(tc: TestClient): Promise<void> {
  const topic = `roundtrip/${Math.random().toString(16).slice(2)}`;
  await tc.client.subscribeAsync(topic, { qos: 1 });
  await tc.client.publishAsync(topic, 'ping', { qos: 1 });
  await waitFor(() => tc.messages.some((m) => m.topic === topic), `the round trip on ${topic}`);
}

/** A pino-compatible logger that records warn(), error() and info() calls (the levels it says it writes); child() returns itself. */
export function capturingLogger() {
  const warnings: unknown[][] = [];
  const errors: unknown[][] = [];
  const infos: unknown[][] = [];
  const logger = {
    level: 'warn',
    warnings,
    errors,
    infos,
    child: () => logger,
    warn: (...args: unknown[]) => void warnings.push(args),
    error: (...args: unknown[]) => void errors.push(args),
    info: (...args: unknown[]) => void infos.push(args),
    debug: () => {},
    trace: () => {},
    fatal: () => {},
    isLevelEnabled: (level: string) => level !== 'debug' && level !== 'trace',
  };
  return logger;
}

// ---------------------------------------------------------------------------------------------
// Publish / subscribe helpers.

export interface Harness extends Fixture {
  /** An mqtt.js client holding `filters` (granted QoS checked) before it is returned. */
  subscriber(filters: Record<string, number>, options?: mqtt.IClientOptions): Promise<TestClient>;
  /** A raw client that has done its CONNECT/CONNACK handshake (CONNACK 0 checked). */
  connectRaw(fields?: Partial<mqttPacket.IConnectPacket>): Promise<RawClient>;
}

/** useBroker() plus shortcuts for subscribers and connected raw clients. */
export async function harness(t: TestContext, options: ServerOptions = {}): Promise<Harness> {
  const fixture = await useBroker(t, options);
  return {
    ...fixture,
    async subscriber(filters, clientOptions = {}) {
      const client = await fixture.connect(clientOptions);
      const request = Object.fromEntries(Object.entries(filters).map(([topic, qos]) => [topic, { qos: qos as mqttPacket.QoS }]));
      const granted = (await client.client.subscribeAsync(request)).map((g) => g.qos);
      assertGranted(granted, Object.values(filters));
      return client;
    },
    async connectRaw(fields = {}) {
      const raw = await fixture.raw();
      const connack = await raw.handshake(fields);
      if (connack.returnCode !== 0) throw new Error(`CONNACK ${connack.returnCode}`);
      return raw;
    },
  };
}

function assertGranted(granted: number[], wanted: number[]): void {
  if (granted.join() !== wanted.join()) throw new Error(`granted ${granted.join()}, asked for ${wanted.join()}`);
}

/**
 * Waits until everything `via` published before the call has reached `subscriber`: a sentinel
 * published by `via` after it, on a `$` topic no leading wildcard sees, has arrived (messages to
 * one client keep their order). Unlike roundTrip(), the publisher may be another client or the
 * server, and the sentinel is removed from `subscriber.messages`.
 */
export async function flush(subscriber: TestClient, via: TestClient | Server): Promise<void> {
  // Not $SYS: clients may not publish there.
  const topic = `$test/flush/${Math.random().toString(16).slice(2)}`;
  // QoS 2 both ways: mqtt.js hands a QoS 2 message over on PUBREL, so a QoS 0 sentinel could
  // overtake a QoS 2 message sent before it.
  await subscriber.client.subscribeAsync(topic, { qos: 2 });
  if (via instanceof Server) await via.publish({ topic, payload: '', qos: 2 });
  else await via.client.publishAsync(topic, '', { qos: 2 });
  await waitFor(() => subscriber.messages.some((m) => m.topic === topic), 'the flush sentinel');
  subscriber.messages.splice(subscriber.messages.findIndex((m) => m.topic === topic), 1);
  await subscriber.client.unsubscribeAsync(topic);
}

/** The payloads received on `topic` (every topic when omitted), as strings, in order. */
export function payloads(tc: TestClient, topic?: string): string[] {
  return tc.messages.filter((m) => topic === undefined || m.topic === topic).map((m) => m.payload.toString());
}

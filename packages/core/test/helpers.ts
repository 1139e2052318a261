/**
 * Shared test helpers: a broker on a free port, mqtt.js clients that collect what they receive,
 * and a raw socket client for packets mqtt.js would refuse to send.
 */
import net from 'node:net';
import { once } from 'node:events';
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
    messages.push({ topic, payload, qos: packet.qos, retain: packet.retain, dup: packet.dup });
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
  closed = false;
  private readonly parser = mqttPacket.parser();

  private constructor(readonly socket: net.Socket) {
    this.parser.on('packet', (packet: mqttPacket.Packet) => this.packets.push(packet));
    socket.on('data', (chunk) => this.parser.parse(chunk));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  send(packet: mqttPacket.Packet): void {
    this.socket.write(mqttPacket.generate(packet));
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
    this.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: `raw-${Math.random().toString(16).slice(2)}`, ...fields });
    return this.next('connack');
  }

  close(): void {
    this.socket.destroy();
  }
}

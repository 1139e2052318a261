/**
 * A broker with device security on 127.0.0.1 (memory store), its log lines kept, and mqtt.js
 * clients that record what they receive; everything is closed when the test ends.
 */
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { hashSecret, Server, type ServerOptions } from '@skynet-mqtt/core';
import { DeviceService, noticeSender } from '../src/index.js';

export const SECRET = 'test-secret-of-at-least-32-characters-0123456789';
export const ADMIN = { name: 'provisioner', secret: 'admin-secret-for-tests' };

export interface Received {
  topic: string;
  payload: string;
}

export interface Harness {
  server: Server;
  port: number;
  service: DeviceService;
  logs: string[];
  adminPort(): number;
  /** Connects; resolves with the client or rejects with the CONNACK error. */
  connect(username?: string, password?: string, options?: mqtt.IClientOptions): Promise<{ client: mqtt.MqttClient; received: Received[] }>;
}

let adminHash: Promise<string> | undefined;

export async function useDeviceBroker(t: TestContext, deviceAuth: Record<string, unknown> = {}, options: ServerOptions = {}): Promise<Harness> {
  adminHash ??= hashSecret(ADMIN.secret);
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => (logs.push(chunk.toString()), done()) }));
  const server = await Server.start({
    port: 0,
    host: '127.0.0.1',
    logger: { childOf: logger },
    deviceAuth: { secret: SECRET, admins: [{ name: ADMIN.name, secretHash: await adminHash }], ...deviceAuth },
    ...options,
  });
  const clients: mqtt.MqttClient[] = [];
  t.after(async () => {
    for (const client of clients) client.end(true);
    await server.close();
  });
  const port = server.address()[0]!.port;
  return {
    server,
    port,
    logs,
    service: new DeviceService(server.store, SECRET, noticeSender((kind, payload) => server.control.send(kind, payload))),
    adminPort: () => {
      const line = logs.find((l) => l.includes('device admin API listening'));
      return (JSON.parse(line!) as { port: number }).port;
    },
    async connect(username, password, clientOptions = {}) {
      const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, username, password, ...clientOptions });
      clients.push(client);
      const received: Received[] = [];
      client.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }));
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new Error('closed before CONNACK')));
      });
      client.on('error', () => undefined);
      return { client, received };
    },
  };
}

/** The CONNACK return code a connection attempt gets (0 when accepted). */
export async function connackCode(harness: Harness, username?: string, password?: string): Promise<number> {
  try {
    const { client } = await harness.connect(username, password);
    client.end(true);
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once `client` is closed by the broker. */
export function closed(client: mqtt.MqttClient): Promise<void> {
  return new Promise((resolve) => (client.disconnected || !client.connected ? resolve() : client.once('close', () => resolve())));
}

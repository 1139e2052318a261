/** Brokers with an admin listener, and readers for what it serves. */
import type { TestContext } from 'node:test';
import mqtt from 'mqtt';
import { hashSecret, Server, type ServerOptions } from '@skynet-mqtt/core';
import { adminOf } from '../src/index.js';

export const TOKEN = 'test-admin-token-0123456789abcdef';
let tokenHash: Promise<string> | undefined;

/** The scrypt hash of TOKEN, made once per test process. */
export function tokenHashOnce(): Promise<string> {
  tokenHash ??= hashSecret(TOKEN);
  return tokenHash;
}

export interface AdminBroker {
  server: Server;
  mqttUrl: string;
  /** The admin listener's base URL. */
  admin: string;
  /** fetch() on the admin listener with the admin token. */
  get(path: string, init?: RequestInit): Promise<Response>;
  json<T = Record<string, unknown>>(path: string, init?: RequestInit): Promise<T>;
  /** An mqtt.js client, ended when the test ends. */
  connect(options?: mqtt.IClientOptions): Promise<mqtt.MqttClient>;
}

/** A broker on free ports with `admin` on (the token's hash as secretHash unless `admin` says otherwise). */
export async function startAdminBroker(t: TestContext, options: ServerOptions = {}, admin: Record<string, unknown> = {}): Promise<AdminBroker> {
  const server = await Server.start({
    port: 0,
    host: '127.0.0.1',
    logger: process.env.LOG_LEVEL ? { level: process.env.LOG_LEVEL } : false,
    admin: { port: 0, secretHash: await tokenHashOnce(), ...admin },
    ...options,
  });
  const clients: mqtt.MqttClient[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await server.close();
  });
  const plugin = adminOf(server)!;
  const base = `http://127.0.0.1:${plugin.port}`;
  const mqttUrl = `mqtt://127.0.0.1:${server.address()[0]!.port}`;
  const get = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...init.headers } });
  return {
    server,
    mqttUrl,
    admin: base,
    get,
    async json<T>(path: string, init?: RequestInit) {
      const res = await get(path, init);
      if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async connect(clientOptions = {}) {
      const client = mqtt.connect(mqttUrl, { reconnectPeriod: 0, ...clientOptions });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      return client;
    },
  };
}

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample with this name whose labels include `labels`; undefined when absent. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Several real `skynet-mqtt -c <config.json>` processes sharing one backend (Emitter and Store),
 * and MQTT clients that are tracked so that `endClients()` closes them all.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort, startBroker, type CliBroker, type TempDirs } from '@skynet-mqtt/test-support';

export interface Instance {
  id: string;
  port: number;
  broker: CliBroker;
  /** Arguments the instance was started with, to restart it the same way. */
  args: string[];
}

/** Options of one instance: `backend`, `persistence` and whatever else it needs (merged at the top level). */
export type InstanceOptions = Record<string, unknown>;

/**
 * Starts one broker per id (in parallel), each on its own free port, with `configFor(index)`
 * merged into its config file: the `backend` and `persistence` that make them one deployment.
 */
export async function startInstances(ids: string[], configFor: (index: number) => InstanceOptions, dirs: TempDirs): Promise<Instance[]> {
  const dir = await dirs.make('skynet-scale-');
  return Promise.all(
    ids.map(async (id, index) => {
      const port = await freePort();
      const config = join(dir, `${id}.json`);
      // sysAccess: the suite follows $SYS/+/disconnect/clients from anonymous clients (hidden from them by default).
      const base = { port, host: '127.0.0.1', id, stats: false, sysAccess: { clientEvents: 'all' } };
      await writeFile(config, JSON.stringify({ ...base, ...configFor(index) }, null, 2));
      const args = ['-c', config];
      return { id, port, args, broker: await startBroker(args) };
    }),
  );
}

const clients = new Set<mqtt.MqttClient>();

/** Connects to 127.0.0.1:`port` without reconnecting; resolves after CONNACK. */
export async function connectTo(port: number, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  client.on('error', () => undefined);
  clients.add(client);
  return client;
}

/**
 * Starts connecting without waiting, so that listeners can be attached before the first packet
 * (messages queued for a durable session may arrive right after CONNACK). `connack` resolves with
 * the CONNACK, or rejects if the connection closes or fails first.
 */
export function startConnect(port: number, options: mqtt.IClientOptions = {}): { client: mqtt.MqttClient; connack: Promise<mqtt.IConnackPacket> } {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.add(client);
  const connack = new Promise<mqtt.IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  client.on('error', () => undefined);
  return { client, connack };
}

/** Ends every client still open (forcibly); for `after` hooks. */
export function endClients(): void {
  for (const client of clients) client.end(true);
  clients.clear();
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** Records every message `client` receives, in arrival order. */
export function recordMessages(client: mqtt.MqttClient): Received[] {
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }));
  return received;
}

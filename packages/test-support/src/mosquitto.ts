/**
 * Mosquitto for the MQTT bridge tests: PRIVATE mosquitto processes (for tests that stop and start
 * the parent; never the shared one), and a cleaner for the retained messages a test run leaves
 * under its prefix on the shared one.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { acceptsConnections, freePort } from './free-port.js';
import { spawnTracked, type TrackedProcess } from './processes.js';

/** The mosquitto binary: `MOSQUITTO`, default /usr/sbin/mosquitto. */
export const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';

/** The shared parent broker of the bridge tests. */
export const MQTT_BRIDGE_URL = process.env.MQTT_BRIDGE_URL ?? 'mqtt://127.0.0.1:1883';

export interface PrivateMosquittoOptions {
  /** Keep sessions and retained messages across a stop (SIGTERM) and start: `persistence true`. */
  persistence?: boolean;
  /** More configuration lines, e.g. ['max_qos 1']. */
  config?: string[];
  /** Default 10 s. */
  timeoutMs?: number;
}

export interface PrivateMosquitto {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** Sends `signal` (default SIGTERM: mosquitto saves its persistence file) and waits until the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts mosquitto again on the same port with the same configuration and data directory. */
  start(): Promise<void>;
}

const running = new Set<TrackedProcess>();
const madeDirs: string[] = [];

/** Starts a private mosquitto on a free port of 127.0.0.1, configured in a temp dir of its own. */
export async function startPrivateMosquitto(options: PrivateMosquittoOptions = {}): Promise<PrivateMosquitto> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'skynet-mosquitto-'));
  madeDirs.push(dir);
  // Started as root, mosquitto runs as the user 'mosquitto': it must be able to write its
  // persistence file and log here.
  await chmod(dir, 0o777);
  const config = join(dir, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', `log_dest file ${join(dir, 'mosquitto.log')}`, 'max_queued_messages 100000'];
  if (options.persistence) lines.push('persistence true', `persistence_location ${dir}/`);
  lines.push(...(options.config ?? []));
  await writeFile(config, `${lines.join('\n')}\n`);
  const timeoutMs = options.timeoutMs ?? 10_000;
  let proc: TrackedProcess | null = null;

  const start = async (): Promise<void> => {
    const started = spawnTracked(MOSQUITTO, ['-c', config]);
    proc = started;
    running.add(started);
    void started.exited.then(() => running.delete(started));
    const deadline = Date.now() + timeoutMs;
    while (!(await acceptsConnections(port))) {
      if (started.child.exitCode !== null || started.stderr.includes('cannot run')) {
        throw new Error(`mosquitto exited (set MOSQUITTO to its path; port ${port} in use?): ${started.stderr}`);
      }
      if (Date.now() > deadline) {
        await started.kill('SIGKILL');
        throw new Error(`mosquitto did not accept connections within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await start();
  return {
    get pid() {
      return proc!.pid!;
    },
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await proc?.kill(signal);
    },
    async start() {
      await proc?.kill('SIGKILL');
      await start();
    },
  };
}

/** SIGKILLs every private mosquitto still running and removes their directories; for `after` hooks. */
export async function killMosquittos(): Promise<void> {
  await Promise.all([...running].map((proc) => proc.kill('SIGKILL')));
  for (const dir of madeDirs.splice(0)) await rm(dir, { recursive: true, force: true });
}

/**
 * Deletes every retained message under `<prefix>/` on the broker at `url`: subscribes to
 * `<prefix>/#` (the broker sends what it retains first), publishes a marker after them, and once
 * the marker is back clears each retained topic it saw with an empty retained message.
 */
export async function clearRetained(url: string, prefix: string): Promise<number> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000 });
  try {
    const retained = new Set<string>();
    const marker = `${prefix}/$clear-retained-marker`;
    const done = new Promise<void>((resolve) => {
      client.on('message', (topic, _payload, packet) => {
        if (topic === marker) resolve();
        else if (packet.retain) retained.add(topic);
      });
    });
    await client.subscribeAsync(`${prefix}/#`, { qos: 1 });
    await client.publishAsync(marker, 'end', { qos: 1 });
    await done;
    for (const topic of retained) await client.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true });
    return retained.size;
  } finally {
    await client.endAsync();
  }
}

// Starting and stopping the brokers under test, each fresh on a free loopback port, each as a
// child process whose PID we own (for /proc readings and for stopping exactly what we started).
// A cluster (`skynet@<backend>`) is two Skynet processes on a fresh deployment of that backend.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execPath } from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { FABRIC_NAMES, FABRICS, fabricUnavailable, type FabricName } from './fabrics.js';
import { freePort, HOST } from './ports.js';

export const BROKER_NAMES = ['skynet', 'mosquitto', 'aedes', 'null'] as const;
/**
 * Two Skynet instances sharing a backend (`skynet@redis`, ...): publishers connect to the first,
 * subscribers to the second, so every message crosses the backend. Opt-in, since each needs its
 * service running.
 */
export const CLUSTER_NAMES = FABRIC_NAMES.map((fabric) => `skynet@${fabric}` as const);
/**
 * Skynet with its admin listener on and /metrics scraped every second (a harsher rate than
 * Prometheus's usual 15 s): what metrics cost, beside plain `skynet`. Opt-in.
 */
export const SCRAPED_SKYNET = 'skynet+admin';
export type BrokerName = (typeof BROKER_NAMES)[number] | (typeof CLUSTER_NAMES)[number] | typeof SCRAPED_SKYNET;
const SCRAPE_INTERVAL_MS = 1000;

export { HOST } from './ports.js';
export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const SKYNET_BIN = join(REPO_ROOT, 'packages/cli/dist/src/bin.js');

/**
 * The Node flags a script's `#!/usr/bin/env -S node ...` line asks for, so the broker is measured
 * as the installed `skynet-mqtt` command runs it.
 */
function commandNodeFlags(script: string): string[] {
  const shebang = readFileSync(script, 'utf8').split('\n', 1)[0]!;
  const match = /^#!\/usr\/bin\/env -S node (.+)$/.exec(shebang);
  return match ? match[1]!.trim().split(/\s+/) : [];
}
const HERE = fileURLToPath(new URL('.', import.meta.url));

export interface RunningBroker {
  readonly name: BrokerName;
  /** Where publishers connect (and everyone, on a single broker). */
  readonly port: number;
  /** Where subscribers connect: another instance for a cluster, `port` otherwise. */
  readonly subscriberPort: number;
  /** Every broker process: CPU and memory are their sum. */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/** Why a broker cannot run on this machine, or undefined if it can. */
export function unavailableReason(name: BrokerName): string | undefined {
  if (name === 'mosquitto' && !existsSync(MOSQUITTO_BIN)) return `${MOSQUITTO_BIN} not found (apt install mosquitto)`;
  if (name.startsWith('skynet') && !existsSync(SKYNET_BIN)) return `${SKYNET_BIN} not built`;
  const fabric = fabricOf(name);
  return fabric === undefined ? undefined : fabricUnavailable(fabric);
}

/** Starts a fresh broker (or the instances of a cluster) and resolves once it accepts TCP connections. */
export async function startBroker(name: BrokerName): Promise<RunningBroker> {
  const fabric = fabricOf(name);
  if (fabric !== undefined) return startCluster(name, fabric);
  const port = await freePort();
  let broker: BrokerProcess;
  switch (name) {
    case 'mosquitto': {
      const dir = await mkdtemp(join(tmpdir(), 'skynet-bench-mosquitto-'));
      const conf = join(dir, 'mosquitto.conf');
      await writeFile(conf, mosquittoConfig(port));
      broker = await spawnBroker(MOSQUITTO_BIN, ['-c', conf], port, () => rm(dir, { recursive: true, force: true }));
      break;
    }
    case 'skynet':
      broker = await spawnSkynet(['--port', String(port), '--host', HOST], port);
      break;
    case SCRAPED_SKYNET: {
      const adminPort = await freePort();
      broker = scraped(await spawnSkynet(['--port', String(port), '--host', HOST, '--admin-port', String(adminPort)], port), adminPort);
      break;
    }
    case 'aedes':
    case 'null':
      broker = await spawnBroker(execPath, [join(HERE, `${name === 'aedes' ? 'aedes-server' : 'null-broker'}.js`), '--port', String(port), '--host', HOST], port);
      break;
    default:
      throw new Error(`unknown broker ${name}`);
  }
  return { name, port, subscriberPort: port, pids: [broker.pid], stop: () => broker.stop() };
}

function fabricOf(name: BrokerName): FabricName | undefined {
  return FABRIC_NAMES.find((fabric) => name === `skynet@${fabric}`);
}

/** Two Skynet instances on one fresh deployment of `fabric`, started together (peers may wait for each other). */
async function startCluster(name: BrokerName, fabricName: FabricName): Promise<RunningBroker> {
  const deployment = await FABRICS[fabricName].deploy(2);
  const dir = await mkdtemp(join(tmpdir(), 'skynet-bench-cluster-'));
  const started = await Promise.allSettled(
    deployment.options.map(async (options, i) => {
      const port = await freePort();
      const conf = join(dir, `${i}.json`);
      await writeFile(conf, JSON.stringify({ port, host: HOST, id: `bench-${i}`, ...options }));
      return { port, process: await spawnSkynet(['-c', conf], port) };
    }),
  );
  const instances = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(instances.map((i) => i.process.stop()));
    await deployment.cleanUp();
    await rm(dir, { recursive: true, force: true });
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [publisherSide, subscriberSide] = instances as [(typeof instances)[0], (typeof instances)[0]];
  return { name, port: publisherSide.port, subscriberPort: subscriberSide.port, pids: instances.map((i) => i.process.pid), stop };
}

interface BrokerProcess {
  readonly pid: number;
  stop(): Promise<void>;
}

/** Scrapes the broker's /metrics every SCRAPE_INTERVAL_MS until it stops; a failed scrape fails the broker's run. */
function scraped(broker: BrokerProcess, adminPort: number): BrokerProcess {
  let failure: Error | undefined;
  const timer = setInterval(() => {
    fetch(`http://${HOST}:${adminPort}/metrics`)
      .then(async (res) => {
        if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
        await res.text();
      })
      .catch((err: unknown) => (failure ??= err instanceof Error ? err : new Error(String(err))));
  }, SCRAPE_INTERVAL_MS);
  return {
    pid: broker.pid,
    async stop() {
      clearInterval(timer);
      await broker.stop();
      if (failure) throw new Error(`scraping /metrics failed: ${failure.message}`);
    },
  };
}

function spawnSkynet(args: string[], port: number): Promise<BrokerProcess> {
  return spawnBroker(execPath, [...commandNodeFlags(SKYNET_BIN), SKYNET_BIN, ...args], port);
}

/** Spawns a broker whose PID we own and resolves once it listens on `port`; `cleanup` runs after it stopped. */
async function spawnBroker(command: string, args: string[], port: number, cleanup = async (): Promise<void> => {}): Promise<BrokerProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Keep the tail of the broker's output for error messages; draining also keeps pipes from filling.
  let output = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  try {
    await waitListening(port, child, () => output);
  } catch (err) {
    child.kill('SIGKILL');
    await cleanup();
    throw err;
  }
  return {
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(force);
      }
      await cleanup();
    },
  };
}

/**
 * Mosquitto 2.0 with its defaults except: loopback only, anonymous clients, no persistence, a
 * queue large enough that pipelined QoS 0 is not dropped (in 2.0 QoS 0 messages to an online
 * client count against max_queued_messages), and 100 QoS 1/2 messages in flight per client to
 * match the generator's window.
 */
function mosquittoConfig(port: number): string {
  return [
    `listener ${port} ${HOST}`,
    'allow_anonymous true',
    'persistence false',
    'max_queued_messages 10000000',
    'max_inflight_messages 100',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    '',
  ].join('\n');
}

async function waitListening(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before listening: ${output().trim()}`);
    }
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`not listening on ${HOST}:${port} after 15 s: ${output().trim()}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: HOST, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

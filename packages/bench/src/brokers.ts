// Starting and stopping the brokers under test, each fresh on a free loopback port, each as a
// child process whose PID we own (for /proc readings and for stopping exactly what we started).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const BROKER_NAMES = ['skynet', 'mosquitto', 'aedes', 'null'] as const;
export type BrokerName = (typeof BROKER_NAMES)[number];

export const HOST = '127.0.0.1';
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
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Why a broker cannot run on this machine, or undefined if it can. */
export function unavailableReason(name: BrokerName): string | undefined {
  if (name === 'mosquitto' && !existsSync(MOSQUITTO_BIN)) return `${MOSQUITTO_BIN} not found (apt install mosquitto)`;
  if (name === 'skynet' && !existsSync(SKYNET_BIN)) return `${SKYNET_BIN} not built`;
  return undefined;
}

/** Starts a fresh broker and resolves once it accepts TCP connections. */
export async function startBroker(name: BrokerName): Promise<RunningBroker> {
  const port = await freePort();
  let cleanup = async (): Promise<void> => {};
  let child: ChildProcess;
  switch (name) {
    case 'mosquitto': {
      const dir = await mkdtemp(join(tmpdir(), 'skynet-bench-mosquitto-'));
      const conf = join(dir, 'mosquitto.conf');
      await writeFile(conf, mosquittoConfig(port));
      cleanup = () => rm(dir, { recursive: true, force: true });
      child = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
      break;
    }
    case 'skynet':
      child = spawn(process.execPath, [...commandNodeFlags(SKYNET_BIN), SKYNET_BIN, '--port', String(port), '--host', HOST], { stdio: ['ignore', 'pipe', 'pipe'] });
      break;
    case 'aedes':
      child = spawn(process.execPath, [join(HERE, 'aedes-server.js'), '--port', String(port), '--host', HOST], { stdio: ['ignore', 'pipe', 'pipe'] });
      break;
    case 'null':
      child = spawn(process.execPath, [join(HERE, 'null-broker.js'), '--port', String(port), '--host', HOST], { stdio: ['ignore', 'pipe', 'pipe'] });
      break;
  }
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
  const pid = child.pid!;
  return {
    name,
    port,
    pid,
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

/** A port that was free a moment ago (the kernel's choice for an ephemeral listener). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
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

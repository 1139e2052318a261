/**
 * `--workers N`: N broker processes on the same ports (Node's cluster module: the primary accepts
 * connections and hands them to the workers in turn). Each worker is a full broker instance, and
 * the instances are one broker the way several hosts are (docs/scale-out.md): through a Store and
 * an Emitter they share. The primary runs no broker; it starts the workers, replaces one that
 * dies, and closes them all on SIGINT/SIGTERM.
 */
import cluster, { type Worker } from 'node:cluster';
import { DEFAULT_ADMIN_PORT } from '@skynet-mqtt/admin';
import type { Server, ServerOptions } from '@skynet-mqtt/core';
import type { StartFlags } from './args.js';
import { adminUrl, listeningLine } from './banner.js';
import { loadConfigFile } from './config.js';
import { finalOptions } from './options.js';

/** Set in a worker's environment: its index, 1 to N, kept by a replacement. */
const WORKER_INDEX = 'SKYNET_MQTT_WORKER';

/** Store and Emitter names whose state lives inside one process. */
const LOCAL_STORES = ['memory', 'level', 'levelup', 'leveldb'];
const LOCAL_EMITTERS = ['memory'];
/** ZeroMQ binds the ports of its config in each process: N workers of one config would collide. */
const PER_PROCESS_EMITTERS = ['zmq', 'zeromq'];

/** Messages between the primary and a worker. */
type ToPrimary = { kind: 'listening'; id: string; where: string; admin: string | null };
type ToWorker = { kind: 'close' } | { kind: 'reload-credentials' };

/** Why `options` cannot run as several workers, or null: every worker needs the state the others see. */
export function workersProblem(options: ServerOptions, workers: number): string | null {
  const storeName = nameOf(options.persistence, 'factory') ?? 'memory';
  const emitterName = nameOf(options.backend, 'type') ?? 'memory';
  const why = `--workers ${workers} runs ${workers} broker processes that must share their state`;
  const fix = "use persistence { factory: 'redis' } (or mongodb) and a backend of type redis, amqp, mqtt or mongodb: see docs/multi-core.md";
  if (LOCAL_STORES.includes(storeName)) return `${why}, but the Store '${storeName}' is kept inside one process: ${fix}`;
  if (LOCAL_EMITTERS.includes(emitterName)) return `${why}, but without a backend messages do not leave the process that received them: ${fix}`;
  if (PER_PROCESS_EMITTERS.includes(emitterName)) return `${why}, but the ZeroMQ backend binds its ports in each process, so ${workers} processes of one config collide: ${fix}`;
  return null;
}

/** The adapter name a backend option gives as a string, or null (a function or instance from a JS config). */
function nameOf(value: unknown, key: 'factory' | 'type'): string | null {
  if (value === undefined || value === null) return null;
  const name = (value as Record<string, unknown>)[key];
  return typeof name === 'string' ? name.toLowerCase() : null;
}

/** In a worker, the options of worker `i`: broker id `<id>-<i>`, admin listener on `port + i - 1`. */
export function workerOptions(options: ServerOptions): ServerOptions {
  const index = Number(process.env[WORKER_INDEX]);
  if (!cluster.isWorker || !(index >= 1)) return options;
  const admin = options.admin;
  const port = admin?.['port'] ?? DEFAULT_ADMIN_PORT;
  // Port 0 stays 0: cluster then gives every worker the same free port, shared like the MQTT one.
  const adminPort = admin !== undefined && typeof port === 'number' && port > 0 ? port + index - 1 : undefined;
  return {
    ...options,
    ...(options.id !== undefined && { id: `${options.id}-${index}` }),
    ...(adminPort !== undefined && { admin: { ...admin, port: adminPort } }),
  };
}

/** In a worker: tells the primary this worker listens, instead of printing the banner itself. */
export function announceToPrimary(server: Server): void {
  const message: ToPrimary = { kind: 'listening', id: server.id, where: listeningLine(server), admin: adminUrl(server) };
  process.send?.(message);
}

/** A broker of this process, as a worker needs it. */
interface WorkerBroker {
  close(): Promise<void>;
  reloadCredentials?: () => Promise<void>;
}

/**
 * In a worker: the primary decides when it closes (a terminal's Ctrl-C reaches every process of
 * the group, and the primary's close follows it), and a worker whose primary is gone closes too.
 */
export function serveAsWorker(started: Promise<WorkerBroker | null>, say: (line: string) => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    void started
      .then((broker) => broker?.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          say(`skynet-mqtt: error while closing: ${error instanceof Error ? error.message : String(error)}`);
          process.exit(1);
        },
      );
  };
  process.on('message', (message: ToWorker) => {
    if (message.kind === 'close') close();
    else if (message.kind === 'reload-credentials') void started.then((broker) => broker?.reloadCredentials?.());
  });
  process.on('disconnect', close);
}

/** What the primary prints, where it reads a relative config path from, and how it ends. */
export interface PrimaryIo {
  say(line: string): void;
  cwd: string;
  exit(code: number): void;
}

/** The running workers, as bin.ts closes them and forwards SIGHUP. */
export interface WorkerPool {
  close(): Promise<void>;
  reloadCredentials(): void;
}

/**
 * In the primary: checks that the options can be shared, starts `flags.workers` workers, and
 * resolves once all of them listen (with one banner line), or with an exit code when the options
 * are refused or a worker could not start.
 */
export async function startWorkers(argv: string[], flags: StartFlags, io: PrimaryIo): Promise<WorkerPool | number> {
  let problem: string | null;
  try {
    const config = flags.config === undefined ? undefined : await loadConfigFile(flags.config, io.cwd);
    problem = workersProblem(finalOptions(flags, config), flags.workers);
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  if (problem) {
    io.say(`skynet-mqtt: ${problem}`);
    return 1;
  }
  cluster.setupPrimary({ args: argv });
  return new Promise((resolve) => new Supervisor(flags.workers, io, resolve).start());
}

/** The primary's bookkeeping: which worker holds which index, who listens, whether we are stopping. */
class Supervisor implements WorkerPool {
  private readonly workers = new Map<number, Worker>();
  private readonly listening = new Map<number, ToPrimary>();
  private stopping = false;
  private started = false;

  constructor(
    private readonly count: number,
    private readonly io: PrimaryIo,
    private readonly onStarted: (result: WorkerPool | number) => void,
  ) {}

  start(): void {
    for (let index = 1; index <= this.count; index++) this.fork(index);
  }

  private fork(index: number): void {
    const worker = cluster.fork({ [WORKER_INDEX]: String(index) });
    this.workers.set(index, worker);
    worker.on('message', (message: ToPrimary) => {
      if (message.kind !== 'listening') return;
      this.listening.set(index, message);
      if (!this.started && this.listening.size === this.count) this.allListening();
    });
    worker.on('exit', (code, signal) => this.exited(index, worker, code, signal));
  }

  private allListening(): void {
    this.started = true;
    const all = [...this.listening.entries()].sort(([a], [b]) => a - b).map(([, message]) => message);
    const admins = all.flatMap(({ admin }) => (admin ? [admin] : []));
    const admin = admins.length > 0 ? `, admin on ${admins.join(' ')}` : '';
    this.io.say(`${all[0]!.where} (${this.count} workers, broker ids ${all.map(({ id }) => id).join(', ')}${admin})`);
    this.onStarted(this);
  }

  private exited(index: number, worker: Worker, code: number | null, signal: string | null): void {
    if (this.workers.get(index) !== worker) return;
    this.workers.delete(index);
    const id = this.listening.get(index)?.id;
    this.listening.delete(index);
    if (this.stopping) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    // A worker that dies before it listened would die again: a configuration or start error.
    if (id === undefined) {
      this.io.say(`skynet-mqtt: worker ${index} exited with ${how} before it listened; stopping the others`);
      void this.stopAll().then(() => (this.started ? this.io.exit(1) : this.onStarted(1)));
      return;
    }
    this.io.say(`skynet-mqtt: worker ${index} (broker id ${id}) exited with ${how}; starting another`);
    this.fork(index);
  }

  private stopAll(): Promise<void> {
    this.stopping = true;
    const gone = Promise.all([...this.workers.values()].map((worker) => new Promise((resolve) => worker.once('exit', resolve))));
    for (const worker of this.workers.values()) send(worker, { kind: 'close' });
    return gone.then(() => undefined);
  }

  close(): Promise<void> {
    return this.stopAll();
  }

  reloadCredentials(): void {
    for (const worker of this.workers.values()) send(worker, { kind: 'reload-credentials' });
  }
}

function send(worker: Worker, message: ToWorker): void {
  if (worker.isConnected()) worker.send(message);
}

/**
 * Runs the real `skynet-mqtt` bin as a child process. Every child is tracked so that `killAll()`
 * (called from `after`) leaves nothing running, whatever a test did.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';

export const BIN = fileURLToPath(new URL('../src/bin.js', import.meta.url));

/** A port nobody listens on right now: bind port 0, read it, release it. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  exited: Promise<Exit>;
  /** Resolves with the banner line, or rejects with what was printed if the process exits first. */
  banner(timeoutMs?: number): Promise<string>;
}

const running = new Set<ChildProcess>();

export function spawnCli(args: string[], cwd?: string): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const banner = (timeoutMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner after ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      const check = () => {
        const line = stderr.split('\n').find((l) => l.includes(' listening on '));
        if (line) {
          clearTimeout(timer);
          child.stderr!.off('data', check);
          resolve(line);
        }
      };
      child.stderr!.on('data', check);
      check();
      void exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${exit.code ?? exit.signal} before the banner; stderr: ${stderr}`));
      });
    });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    banner,
  };
}

/** Runs the bin to completion (for commands that must exit), killing it after `timeoutMs`. */
export async function runCli(args: string[], cwd?: string, timeoutMs = 10_000): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = spawnCli(args, cwd);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), timeoutMs);
  const exit = await cli.exited;
  clearTimeout(timer);
  return { ...exit, stdout: cli.stdout, stderr: cli.stderr };
}

/** SIGKILLs every child still running; for `after` hooks. */
export async function killAll(): Promise<void> {
  const children = [...running];
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'close') : undefined)));
}

/** The port of the first listener named in a banner line. */
export function bannerPort(banner: string): number {
  const match = /:\/\/[^ ,]*:(\d+)/.exec(banner);
  if (!match) throw new Error(`no port in banner: ${banner}`);
  return Number(match[1]);
}

export async function connect(port: number, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

/** The next message on `topic`. */
export function nextMessage(client: mqtt.MqttClient, topic: string, timeoutMs = 5000): Promise<{ payload: string; qos: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${topic} after ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (received: string, payload: Buffer, packet: mqtt.IPublishPacket) => {
      if (received !== topic) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ payload: payload.toString(), qos: packet.qos });
    };
    client.on('message', onMessage);
  });
}

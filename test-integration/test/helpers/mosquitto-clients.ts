/**
 * Drives `mosquitto_sub` and `mosquitto_pub` (Debian package mosquitto-clients: Eclipse
 * Mosquitto's C client library, an MQTT implementation independent of ours and of mqtt.js).
 * Every process is bounded by a timeout and tracked so that `killClients()` leaves none running.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** mosquitto_sub's -F format: one parsable line per message. */
export const FORMAT = 'MSG|%t|%q|%r|%p';

export interface Received {
  topic: string;
  qos: number;
  retain: boolean;
  payload: string;
}

/** Why the interop tests cannot run, or null when both programs are on the PATH. */
export function missingClients(): string | null {
  const missing = ['mosquitto_sub', 'mosquitto_pub', 'stdbuf'].filter(
    (program) => spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length === 0) return null;
  return (
    `${missing.join(', ')} not found on the PATH: the interop tests need mosquitto_sub and mosquitto_pub, ` +
    'from the Debian package mosquitto-clients (apt-get install mosquitto-clients; .ci/run installs it), ' +
    'and stdbuf, from coreutils'
  );
}

export function parseMessages(stdout: string): Received[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('MSG|'))
    .map((line) => {
      const [, topic, qos, retain, ...payload] = line.split('|');
      return { topic: topic!, qos: Number(qos), retain: retain === '1', payload: payload.join('|') };
    });
}

const running = new Set<ChildProcess>();

export interface Subscriber {
  child: ChildProcess;
  readonly stdout: string;
  readonly messages: Received[];
  /** Resolves once mosquitto_sub printed "received SUBACK" (needs `-d`), or rejects on exit/timeout. */
  subscribed(timeoutMs?: number): Promise<void>;
  /** Resolves once the process exits (it is SIGKILLed after the spawn timeout). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `mosquitto_sub` with `-d` (debug lines show the protocol flow) and -F FORMAT. */
export function startSub(common: string[], args: string[], timeoutMs = 15_000): Subscriber {
  // mosquitto_sub's stdout is block-buffered on a pipe: stdbuf (coreutils) makes it line-buffered,
  // so the SUBACK and each message are seen as they happen.
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', ...common, '-d', '-F', FORMAT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get messages() {
      return parseMessages(stdout);
    },
    subscribed(waitMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const fail = setTimeout(() => reject(new Error(`mosquitto_sub not subscribed after ${waitMs} ms; output: ${stdout} ${stderr}`)), waitMs);
        const check = (): void => {
          if (!stdout.includes('received SUBACK')) return;
          clearTimeout(fail);
          child.stdout!.off('data', check);
          resolve();
        };
        child.stdout!.on('data', check);
        void exited.then(({ code, signal }) => {
          clearTimeout(fail);
          reject(new Error(`mosquitto_sub exited (${code ?? signal}) before its SUBACK; output: ${stdout} ${stderr}`));
        });
        check();
      });
    },
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Runs `mosquitto_pub` to completion; rejects with its output if it fails or times out. */
export function pub(common: string[], args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('mosquitto_pub', [...common, '-d', ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      running.delete(child);
      if (error) reject(new Error(`mosquitto_pub ${args.join(' ')} failed: ${error.message}; ${stdout} ${stderr}`));
      else resolve(stdout);
    });
    running.add(child);
  });
}

/** SIGKILLs every mosquitto_sub / mosquitto_pub still running; for `after` hooks. */
export async function killClients(): Promise<void> {
  const children = [...running];
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'close') : undefined)));
}

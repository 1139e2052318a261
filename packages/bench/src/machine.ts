// What the figures were measured on, recorded with every run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { MOSQUITTO_BIN } from './brokers.js';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly mosquitto: string | undefined;
  readonly aedes: string | undefined;
}

export function describeMachine(): Machine {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    mosquitto: mosquittoVersion(),
    aedes: aedesVersion(),
  };
}

function mosquittoVersion(): string | undefined {
  try {
    // `mosquitto -h` prints the version on its first line and exits non-zero.
    execFileSync(MOSQUITTO_BIN, ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? '';
    const m = /mosquitto version (\S+)/.exec(out);
    if (m) return m[1];
  }
  return undefined;
}

function aedesVersion(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkgPath = require.resolve('aedes/package.json');
    return (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

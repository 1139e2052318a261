import { AdapterOptions, type AdapterLogger } from '@skynet-mqtt/core';

/** Options of the ZeroMQ Emitter, with Mosca's (ascoltatori's) names. */
export interface ZeromqEmitterOptions {
  /** Where this instance binds its PUB socket, e.g. 'tcp://127.0.0.1:33333'. Required. */
  port?: string;
  /** Where this instance binds its control socket (peers learn its PUB address there). Required. */
  controlPort?: string;
  /** The control addresses of other instances. Instances that are not listed find each other through those that are. */
  remotePorts?: string[];
  /** Milliseconds between control exchanges with each peer (liveness, joining). Default 1000. */
  heartbeatInterval?: number;
  /** How long (ms) start-up waits for the listed peers to join before listening anyway. Default 5000. */
  joinTimeout?: number;
  /** Messages queued per peer connection, each way, before ZeroMQ drops (at most once). Default 100000. */
  highWaterMark?: number;
  logger?: AdapterLogger;
  /** Mosca's settle delay and module; accepted and ignored. */
  delay?: number;
  zmq?: unknown;
}

export interface ResolvedOptions {
  port: string;
  controlPort: string;
  remotePorts: string[];
  heartbeatInterval: number;
  joinTimeout: number;
  highWaterMark: number;
  logger: AdapterLogger;
}

const KNOWN = ['port', 'controlPort', 'remotePorts', 'heartbeatInterval', 'joinTimeout', 'highWaterMark', 'logger', 'delay', 'zmq'];
const ADDRESS = /^(tcp:\/\/[^\s]+:\d+|ipc:\/\/\S+)$/;

/** Validates options given as plain data (a config file, the CLI) and applies defaults. */
export function resolveOptions(input: ZeromqEmitterOptions | Record<string, unknown>): ResolvedOptions {
  const options = new AdapterOptions('ZeroMQ backend', input as Record<string, unknown>);
  options.onlyKnown(KNOWN);
  const address = (key: string, example: string): string => {
    const value = options.values[key];
    if (value === undefined) options.fail(`option ${key} is required: the address to bind, such as ${example}`);
    if (typeof value !== 'string' || !ADDRESS.test(value)) options.fail(`option ${key} must be an address such as ${example} (tcp://host:port or ipc://path); got ${JSON.stringify(value)}`);
    return value as string;
  };
  const port = address('port', '"tcp://127.0.0.1:33333"');
  const controlPort = address('controlPort', '"tcp://127.0.0.1:33334"');
  if (port === controlPort) options.fail('options port and controlPort must be different addresses');
  const remotes = options.values.remotePorts ?? [];
  if (!Array.isArray(remotes) || !remotes.every((r) => typeof r === 'string' && ADDRESS.test(r))) {
    options.fail('option remotePorts must be an array of control addresses such as ["tcp://10.0.0.2:33334"]');
  }
  options.integer('delay', 0, Number.MAX_SAFE_INTEGER, '5');
  return {
    port,
    controlPort,
    // Listing itself is harmless (a shared list for every instance): it is skipped.
    remotePorts: [...new Set(remotes as string[])].filter((r) => r !== controlPort),
    heartbeatInterval: options.integer('heartbeatInterval', 10, 60_000, '1000') ?? 1000,
    joinTimeout: options.integer('joinTimeout', 0, 600_000, '5000') ?? 5000,
    highWaterMark: options.integer('highWaterMark', 1, 10_000_000, '100000') ?? 100_000,
    logger: options.logger(),
  };
}

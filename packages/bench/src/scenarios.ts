// The scenarios: their sizes (full and --quick), how each runs on the generator, and what makes a
// run invalid. One place to read what "p2p" or "qos2" means.
import { runConns } from './generator/conns.js';
import { runQos0Flow } from './generator/flow-qos0.js';
import { runWindowedFlow } from './generator/flow-windowed.js';
import { runLatency } from './generator/latency.js';
import type { Outcome, RunContext } from './generator/outcome.js';
import { runRetained } from './generator/retained.js';
import { runRoutes } from './generator/routes.js';
import type { BrokerName } from './brokers.js';

export const SCENARIO_NAMES = ['conns', 'p2p', 'fanin', 'fanout', 'qos1', 'qos2', 'latency', 'p2p_16k', 'retained', 'retained_q1', 'routes', 'retained_1m'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];
/** What `npm run bench` runs without --only: all but the 1,000,000 retained messages (a minute or more per broker). */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = SCENARIO_NAMES.filter((name) => name !== 'retained_1m');

export const PAYLOAD = 64;

export interface Scenario {
  readonly name: ScenarioName;
  readonly description: string;
  readonly qos: 0 | 1 | 2;
  /** Brokers that cannot run it: the null broker neither matches topics nor keeps retained messages. */
  readonly unsupported?: readonly BrokerName[];
  run(ctx: RunContext, scale: number): Promise<Outcome>;
}

const n = (full: number, scale: number): number => Math.max(1, Math.round(full * scale));

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  conns: {
    name: 'conns',
    description: '10,000 idle connections, CONNECT + SUBSCRIBE each, 64 handshakes at a time',
    qos: 0,
    run: (ctx, s) => runConns(ctx, { connections: n(10_000, s), concurrency: 64, holdMs: 1000 }),
  },
  p2p: {
    name: 'p2p',
    description: '1 → 1 QoS 0, 300k messages pipelined',
    qos: 0,
    run: (ctx, s) => runQos0Flow(ctx, { publishers: 1, subscribers: 1, messages: n(300_000, s), payload: PAYLOAD, idleMs: 3000 }),
  },
  fanin: {
    name: 'fanin',
    description: '50 → 1 QoS 0 on a wildcard, 100k messages, publishers unthrottled',
    qos: 0,
    run: (ctx, s) => runQos0Flow(ctx, { publishers: 50, subscribers: 1, messages: n(100_000, s), payload: PAYLOAD, idleMs: 3000 }),
  },
  fanout: {
    name: 'fanout',
    description: '1 → 50 QoS 0, 10k messages (500k deliveries)',
    qos: 0,
    run: (ctx, s) => runQos0Flow(ctx, { publishers: 1, subscribers: 50, messages: n(10_000, s), payload: PAYLOAD, idleMs: 3000 }),
  },
  qos1: {
    name: 'qos1',
    description: '1 → 1 QoS 1, 100k messages, 100 in flight',
    qos: 1,
    run: (ctx, s) => runWindowedFlow(ctx, { qos: 1, messages: n(100_000, s), inFlight: 100, payload: PAYLOAD, idleMs: 3000 }),
  },
  qos2: {
    name: 'qos2',
    description: '1 → 1 QoS 2, 50k messages, 100 in flight',
    qos: 2,
    run: (ctx, s) => runWindowedFlow(ctx, { qos: 2, messages: n(50_000, s), inFlight: 100, payload: PAYLOAD, idleMs: 3000 }),
  },
  latency: {
    name: 'latency',
    description: '1 → 1 QoS 0 at 5,000 msg/s, 3 s measured after 0.5 s warm-up',
    qos: 0,
    run: (ctx, s) => runLatency(ctx, { rate: 5000, seconds: s < 1 ? 1 : 3, warmupSeconds: 0.5, payload: PAYLOAD, idleMs: 2000 }),
  },
  p2p_16k: {
    name: 'p2p_16k',
    description: '1 → 1 QoS 0, 50k messages of 16 KB pipelined',
    qos: 0,
    run: (ctx, s) => runQos0Flow(ctx, { publishers: 1, subscribers: 1, messages: n(50_000, s), payload: 16 * 1024, idleMs: 3000 }),
  },
  retained: {
    name: 'retained',
    description: '100k retained messages stored, then replayed to a new subscriber to prefix/# at QoS 0',
    qos: 0,
    unsupported: ['null'],
    run: (ctx, s) => runRetained(ctx, { messages: n(100_000, s), qos: 0, payload: PAYLOAD, window: 500, holdMs: 500, idleMs: 5000 }),
  },
  retained_q1: {
    name: 'retained_q1',
    description: 'the same at QoS 1 (stored at QoS 1, subscribed at QoS 1)',
    qos: 1,
    unsupported: ['null'],
    run: (ctx, s) => runRetained(ctx, { messages: n(100_000, s), qos: 1, payload: PAYLOAD, window: 500, holdMs: 500, idleMs: 5000 }),
  },
  routes: {
    name: 'routes',
    description: '2,000 subscribers × 50 filters (exact, +, #), 200k messages to random topics matching one filter each',
    qos: 0,
    unsupported: ['null'],
    run: (ctx, s) =>
      runRoutes(ctx, { subscribers: n(2_000, s), filters: 50, messages: n(200_000, s), payload: PAYLOAD, concurrency: 64, holdMs: 1000, idleMs: 5000 }),
  },
  retained_1m: {
    name: 'retained_1m',
    description: '1,000,000 retained messages replayed at QoS 1 (only with --only)',
    qos: 1,
    unsupported: ['null'],
    run: (ctx, s) => runRetained(ctx, { messages: n(1_000_000, s), qos: 1, payload: PAYLOAD, window: 500, holdMs: 1000, idleMs: 10_000 }),
  },
};

/** Why a run does not count, or undefined if it does. */
export function invalidReason(scenario: Scenario, o: Outcome): string | undefined {
  if (o.error !== undefined) return o.error;
  const loss = o.expected - o.received;
  if (scenario.name === 'conns') return undefined;
  // Every retained message must be replayed, whatever the QoS.
  if ((scenario.qos > 0 || scenario.name === 'retained') && loss > 0) return `lost ${loss} of ${o.expected} QoS ${scenario.qos} messages`;
  // At most once (QoS 0) and exactly once (QoS 2) forbid duplicates; QoS 1 allows them.
  if (scenario.qos !== 1 && o.duplicates > 0) return `${o.duplicates} duplicates`;
  return undefined;
}

/** A quick pass over each hot path so JIT-compiled brokers are measured warm; results discarded. */
export async function warmUp(ctx: (suffix: string) => RunContext, scale: number): Promise<void> {
  const s = Math.min(scale, 0.1);
  await runQos0Flow(ctx('w1'), { publishers: 1, subscribers: 1, messages: n(300_000, s), payload: PAYLOAD, idleMs: 2000 });
  await runQos0Flow(ctx('w2'), { publishers: 10, subscribers: 1, messages: n(100_000, s), payload: PAYLOAD, idleMs: 2000 });
  await runQos0Flow(ctx('w3'), { publishers: 1, subscribers: 10, messages: n(10_000, s), payload: PAYLOAD, idleMs: 2000 });
  await runWindowedFlow(ctx('w4'), { qos: 1, messages: n(100_000, s), inFlight: 100, payload: PAYLOAD, idleMs: 2000 });
  await runWindowedFlow(ctx('w5'), { qos: 2, messages: n(50_000, s), inFlight: 100, payload: PAYLOAD, idleMs: 2000 });
}

/** 300 connections opened and closed: warms a broker's connect path without growing its heap much. */
export async function warmUpConnections(ctx: RunContext): Promise<void> {
  await runConns(ctx, { connections: 300, concurrency: 64, holdMs: 0 });
}

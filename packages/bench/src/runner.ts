// The benchmark loop: every round starts each broker fresh, warms it up, then runs every scenario
// against every broker in turn (A B C, A B C, ...) so slow drifts of the machine hit all of them
// alike; then stops them. Returns every measurement; the table is made elsewhere.
import { setTimeout as sleep } from 'node:timers/promises';
import { startBroker, unavailableReason, HOST, type BrokerName, type RunningBroker } from './brokers.js';
import type { RunContext } from './generator/outcome.js';
import { SCENARIOS, invalidReason, warmUp, warmUpConnections, type ScenarioName } from './scenarios.js';

export interface BenchOptions {
  readonly rounds: number;
  readonly scenarios: readonly ScenarioName[];
  readonly brokers: readonly BrokerName[];
  /** 1 for full size, 0.1 for --quick. */
  readonly scale: number;
  readonly warmUp: boolean;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

export interface Measurement {
  readonly round: number;
  readonly broker: BrokerName;
  readonly scenario: ScenarioName;
  readonly valid: boolean;
  readonly invalidReason: string | undefined;
  readonly expected: number;
  readonly received: number;
  readonly loss: number;
  readonly duplicates: number;
  readonly seconds: number;
  readonly generatorCpuPct: number;
  readonly brokerCpuPct: number | undefined;
  readonly otherCpuPct: number | undefined;
  readonly brokerRssPeakBytes: number | undefined;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface BenchRun {
  readonly measurements: Measurement[];
  /** Brokers that could not run, with the reason (first one seen). */
  readonly unavailable: Partial<Record<BrokerName, string>>;
}

const SETTLE_MS = 300;

export async function runBench(opts: BenchOptions): Promise<BenchRun> {
  const measurements: Measurement[] = [];
  const unavailable: Partial<Record<BrokerName, string>> = {};
  for (const b of opts.brokers) {
    const why = unavailableReason(b);
    if (why) {
      unavailable[b] = why;
      opts.log(`${b}: not run: ${why}`);
    }
  }
  let seq = 0;
  const context = (broker: RunningBroker, suffix: string): RunContext => ({
    target: { host: HOST, port: broker.port },
    subscriberTarget: { host: HOST, port: broker.subscriberPort },
    brokerPids: broker.pids,
    // Short and unique: client ids must stay within MQTT 3.1.1's 23 characters.
    tag: `b${(seq++).toString(36)}${suffix}${Math.random().toString(36).slice(2, 6)}`,
    timeoutMs: opts.timeoutMs,
  });

  for (let round = 1; round <= opts.rounds; round++) {
    const running: RunningBroker[] = [];
    try {
      for (const name of opts.brokers) {
        if (unavailable[name]) continue;
        try {
          running.push(await startBroker(name));
        } catch (err) {
          unavailable[name] = `failed to start: ${message(err)}`;
          opts.log(`${name}: ${unavailable[name]}`);
        }
      }
      // Idle connections first, on fresh processes: their RSS per connection is then not blurred
      // by heap that earlier scenarios left behind (a Node broker may shrink while we measure).
      // A few hundred connections beforehand warm the connect path.
      const first = opts.scenarios.filter((n) => n === 'conns');
      const rest = opts.scenarios.filter((n) => n !== 'conns');
      if (opts.warmUp && first.length > 0) {
        for (const b of running) await warmUpConnections(context(b, 'wc')).catch((err: unknown) => opts.log(`${b.name}: warm-up failed: ${message(err)}`));
        await sleep(SETTLE_MS);
      }
      await measureAll(round, first, running, context, opts, measurements);
      if (opts.warmUp && rest.length > 0) {
        for (const b of running) {
          opts.log(`round ${round}: warming up ${b.name}`);
          await warmUp((s) => context(b, s), opts.scale).catch((err: unknown) => opts.log(`${b.name}: warm-up failed: ${message(err)}`));
          await sleep(SETTLE_MS);
        }
      }
      await measureAll(round, rest, running, context, opts, measurements);
    } finally {
      await Promise.all(running.map((b) => b.stop()));
    }
  }
  return { measurements, unavailable };
}

/** Scenario by scenario, broker by broker: A B C, A B C. */
async function measureAll(
  round: number,
  scenarios: readonly ScenarioName[],
  running: readonly RunningBroker[],
  context: (b: RunningBroker, suffix: string) => RunContext,
  opts: BenchOptions,
  into: Measurement[],
): Promise<void> {
  for (const name of scenarios) {
    for (const b of running) {
      if (SCENARIOS[name].unsupported?.includes(b.name)) continue;
      const m = await measure(round, b, name, context(b, ''), opts);
      into.push(m);
      opts.log(describe(m));
      await sleep(SETTLE_MS);
    }
  }
}

async function measure(round: number, broker: RunningBroker, name: ScenarioName, ctx: RunContext, opts: BenchOptions): Promise<Measurement> {
  const scenario = SCENARIOS[name];
  try {
    const o = await scenario.run(ctx, opts.scale);
    const why = invalidReason(scenario, o);
    return {
      round,
      broker: broker.name,
      scenario: name,
      valid: why === undefined,
      invalidReason: why,
      expected: o.expected,
      received: o.received,
      loss: o.expected - o.received,
      duplicates: o.duplicates,
      seconds: o.window.seconds,
      generatorCpuPct: o.window.generatorCpuPct,
      brokerCpuPct: o.window.brokerCpuPct,
      otherCpuPct: o.window.otherCpuPct,
      brokerRssPeakBytes: o.window.brokerRssPeakBytes,
      metrics: o.metrics,
    };
  } catch (err) {
    return {
      round,
      broker: broker.name,
      scenario: name,
      valid: false,
      invalidReason: message(err),
      expected: 0,
      received: 0,
      loss: 0,
      duplicates: 0,
      seconds: 0,
      generatorCpuPct: 0,
      brokerCpuPct: undefined,
      otherCpuPct: undefined,
      brokerRssPeakBytes: undefined,
      metrics: {},
    };
  }
}

function describe(m: Measurement): string {
  const figures = Object.entries(m.metrics)
    .map(([k, v]) => `${k}=${Number.isFinite(v) ? Math.round(v) : 'n/a'}`)
    .join(' ');
  const r = (v: number | undefined): string => (v === undefined ? '?' : String(Math.round(v)));
  const cpu = `gen ${r(m.generatorCpuPct)}% broker ${r(m.brokerCpuPct)}% other ${r(m.otherCpuPct)}%`;
  const validity = m.valid ? `loss ${m.loss} dups ${m.duplicates}` : `INVALID: ${m.invalidReason}`;
  return `round ${m.round} ${m.scenario.padEnd(11)} ${m.broker.padEnd(9)} ${figures} | ${cpu} | ${validity}`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

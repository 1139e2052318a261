// The summary: medians over the valid rounds per scenario and broker, ratios against Mosquitto,
// and the CPU split between generator and broker, as markdown tables.
import type { BrokerName } from './brokers.js';
import type { Measurement } from './runner.js';
import type { ScenarioName } from './scenarios.js';
import { median } from './stats.js';

/** Above this share of one core the generator may be what limits a figure. */
export const GENERATOR_CPU_FLAG_PCT = 80;
/** Above this much CPU used by other processes, the machine was too busy for a fair comparison. */
export const OTHER_CPU_FLAG_PCT = 30;

interface Row {
  readonly scenario: ScenarioName;
  readonly label: string;
  readonly lowerIsBetter: boolean;
  readonly value: (m: Measurement) => number | undefined;
}

const metric = (key: string) => (m: Measurement): number | undefined => m.metrics[key];

const ROWS: readonly Row[] = [
  { scenario: 'p2p', label: 'msg/s', lowerIsBetter: false, value: metric('msgsPerS') },
  { scenario: 'fanin', label: 'msg/s', lowerIsBetter: false, value: metric('msgsPerS') },
  {
    scenario: 'fanin',
    label: 'broker RSS peak, MB',
    lowerIsBetter: true,
    value: (m) => (m.brokerRssPeakBytes === undefined ? undefined : m.brokerRssPeakBytes / 1048576),
  },
  { scenario: 'fanout', label: 'deliveries/s', lowerIsBetter: false, value: metric('deliveriesPerS') },
  { scenario: 'qos1', label: 'msg/s', lowerIsBetter: false, value: metric('msgsPerS') },
  { scenario: 'qos2', label: 'msg/s', lowerIsBetter: false, value: metric('msgsPerS') },
  { scenario: 'latency', label: 'p50 µs', lowerIsBetter: true, value: metric('p50Us') },
  { scenario: 'latency', label: 'p99 µs', lowerIsBetter: true, value: metric('p99Us') },
  { scenario: 'latency', label: 'p99.9 µs', lowerIsBetter: true, value: metric('p999Us') },
  { scenario: 'conns', label: 'conn/s', lowerIsBetter: false, value: metric('connsPerS') },
  { scenario: 'conns', label: 'RSS per idle conn, B', lowerIsBetter: true, value: metric('rssPerConnB') },
  { scenario: 'p2p_16k', label: 'MB/s of payload', lowerIsBetter: false, value: metric('payloadMBPerS') },
  { scenario: 'retained', label: 'retained msg/s replayed', lowerIsBetter: false, value: metric('retainedMsgsPerS') },
  { scenario: 'retained', label: 'RSS per retained msg, B', lowerIsBetter: true, value: metric('rssPerRetainedB') },
  { scenario: 'retained_q1', label: 'retained msg/s replayed', lowerIsBetter: false, value: metric('retainedMsgsPerS') },
  { scenario: 'retained_q1', label: 'RSS per retained msg, B', lowerIsBetter: true, value: metric('rssPerRetainedB') },
  { scenario: 'retained_1m', label: 'retained msg/s replayed', lowerIsBetter: false, value: metric('retainedMsgsPerS') },
  { scenario: 'retained_1m', label: 'RSS per retained msg, B', lowerIsBetter: true, value: metric('rssPerRetainedB') },
  { scenario: 'routes', label: 'msg/s', lowerIsBetter: false, value: metric('msgsPerS') },
  { scenario: 'routes', label: 'subscriptions/s', lowerIsBetter: false, value: metric('subsPerS') },
  { scenario: 'routes', label: 'RSS per subscription, B', lowerIsBetter: true, value: metric('rssPerSubB') },
];

export interface Summary {
  readonly scenario: ScenarioName;
  readonly metric: string;
  readonly broker: BrokerName;
  readonly median: number | undefined;
  readonly validRounds: number;
  readonly rounds: number;
  /** Valid rounds in which QoS 0 messages were lost (the figure counts only what arrived). */
  readonly lossyRounds: number;
  readonly generatorCpuPct: number | undefined;
  readonly brokerCpuPct: number | undefined;
  readonly otherCpuPct: number | undefined;
  readonly ratioVsMosquitto: number | undefined;
}

export function summarize(measurements: readonly Measurement[], brokers: readonly BrokerName[], scenarios: readonly ScenarioName[]): Summary[] {
  const out: Summary[] = [];
  for (const row of ROWS.filter((r) => scenarios.includes(r.scenario))) {
    const medianOf = (b: BrokerName): number | undefined =>
      median(pick(measurements, row.scenario, b).filter((m) => m.valid).map((m) => row.value(m) ?? Number.NaN));
    const reference = medianOf('mosquitto');
    for (const b of brokers) {
      const all = pick(measurements, row.scenario, b);
      const valid = all.filter((m) => m.valid);
      const value = medianOf(b);
      out.push({
        scenario: row.scenario,
        metric: row.label,
        broker: b,
        median: value,
        validRounds: valid.length,
        rounds: all.length,
        lossyRounds: valid.filter((m) => m.loss > 0).length,
        generatorCpuPct: median(valid.map((m) => m.generatorCpuPct)),
        brokerCpuPct: median(valid.map((m) => m.brokerCpuPct ?? Number.NaN)),
        otherCpuPct: median(valid.map((m) => m.otherCpuPct ?? Number.NaN)),
        ratioVsMosquitto: value !== undefined && reference !== undefined && reference !== 0 ? value / reference : undefined,
      });
    }
  }
  return out;
}

/** Main table: one line per figure, a column per broker, then ratios against Mosquitto. */
export function resultsTable(summaries: readonly Summary[], brokers: readonly BrokerName[], unavailable: Partial<Record<BrokerName, string>>): string {
  const others = brokers.filter((b) => b !== 'mosquitto');
  const withRatios = brokers.includes('mosquitto') ? others : [];
  const header = ['test', 'figure', ...brokers, ...withRatios.map((b) => `${b} ÷ mosquitto`)];
  const lines = [row(header), row(header.map((_, i) => (i < 2 ? '---' : '---:')))];
  for (const r of ROWS) {
    const cells = brokers.map((b) => summaries.find((s) => s.scenario === r.scenario && s.metric === r.label && s.broker === b));
    if (cells.every((c) => c === undefined)) continue;
    const shown = cells.map((c, i) => cell(c, unavailable[brokers[i]!]));
    const ratios = withRatios.map((b) => {
      const s = summaries.find((x) => x.scenario === r.scenario && x.metric === r.label && x.broker === b);
      return s?.ratioVsMosquitto === undefined ? '–' : s.ratioVsMosquitto.toFixed(2);
    });
    lines.push(row([r.scenario, r.lowerIsBetter ? `${r.label} (lower is better)` : r.label, ...shown, ...ratios]));
  }
  return lines.join('\n');
}

/**
 * CPU table: generator, broker and everything else on the machine, percent of one core, medians
 * over the measured windows.
 */
export function cpuTable(summaries: readonly Summary[], brokers: readonly BrokerName[]): string {
  const header = ['test', ...brokers.map((b) => `${b}: gen / broker / other`)];
  const lines = [row(header), row(header.map((_, i) => (i === 0 ? '---' : '---:')))];
  const seen = new Set<string>();
  for (const s of summaries) {
    if (seen.has(s.scenario)) continue;
    seen.add(s.scenario);
    const cells = brokers.map((b) => {
      const x = summaries.find((y) => y.scenario === s.scenario && y.broker === b);
      if (x === undefined || x.generatorCpuPct === undefined) return '–';
      const flag = x.generatorCpuPct > GENERATOR_CPU_FLAG_PCT ? ' ⚠' : '';
      const opt = (v: number | undefined): string => (v === undefined ? '?' : pct(v));
      return `${pct(x.generatorCpuPct)}${flag} / ${opt(x.brokerCpuPct)} / ${opt(x.otherCpuPct)}`;
    });
    lines.push(row([s.scenario, ...cells]));
  }
  return lines.join('\n');
}

export const LEGEND =
  `Medians of the valid rounds. ⚠ = the generator used more than ${GENERATOR_CPU_FLAG_PCT}% of a core: ` +
  'that figure may be the generator\'s limit, not the broker\'s. "(2/3)" = only 2 of 3 rounds were valid; ' +
  '"(loss in N)" = QoS 0 messages were dropped in N rounds (the figure counts what arrived). ' +
  `~ = other processes used more than ${OTHER_CPU_FLAG_PCT}% of a core meanwhile: a busy machine, compare with care. ` +
  'CPU is % of one core over the measured window; "other" is the rest of the machine (other users).';

function cell(s: Summary | undefined, unavailable: string | undefined): string {
  if (s === undefined || s.rounds === 0) return unavailable ? 'not run' : '–';
  if (s.median === undefined) return `invalid (0/${s.rounds})`;
  const flag =
    (s.generatorCpuPct !== undefined && s.generatorCpuPct > GENERATOR_CPU_FLAG_PCT ? ' ⚠' : '') +
    (s.otherCpuPct !== undefined && s.otherCpuPct > OTHER_CPU_FLAG_PCT ? ' ~' : '');
  const partial = s.validRounds < s.rounds ? ` (${s.validRounds}/${s.rounds})` : '';
  const lossy = s.lossyRounds > 0 ? ` (loss in ${s.lossyRounds})` : '';
  return `${num(s.median)}${flag}${partial}${lossy}`;
}

function num(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(1);
}

function pct(v: number): string {
  return `${Math.round(v)}%`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function pick(ms: readonly Measurement[], scenario: ScenarioName, broker: BrokerName): Measurement[] {
  return ms.filter((m) => m.scenario === scenario && m.broker === broker);
}

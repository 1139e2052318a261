// npm run bench: Skynet MQTT side by side with Mosquitto, Aedes and a null broker.
//   --rounds N            rounds (default 3); each round starts every broker fresh
//   --only p2p,fanout     scenarios (default: all but retained_1m)
//   --brokers a,b         brokers (default: skynet,mosquitto,aedes,null); skynet+admin is skynet with
//                         /metrics scraped every second; skynet@redis, skynet@amqp, ...
//                         are two Skynet instances on that backend, publishers on one, subscribers
//                         on the other (the cross-instance figures; their service must be running)
//   --quick               a tenth of the size: a smoke test, not a figure
//   --no-warmup           skip the discarded warm-up pass
//   --out FILE            JSON results file (default bench-results/<timestamp>.json)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BROKER_NAMES, CLUSTER_NAMES, SCRAPED_SKYNET, type BrokerName } from './brokers.js';
import { describeMachine } from './machine.js';
import { runBench } from './runner.js';
import { DEFAULT_SCENARIOS, SCENARIOS, SCENARIO_NAMES, type ScenarioName } from './scenarios.js';
import { LEGEND, cpuTable, resultsTable, summarize } from './table.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

function listOf<T extends string>(flag: string, raw: string | undefined, known: readonly T[], defaults: readonly T[] = known): T[] {
  if (raw === undefined) return [...defaults];
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) {
    if (!(known as readonly string[]).includes(i)) throw new Error(`--${flag}: unknown '${i}' (known: ${known.join(', ')})`);
  }
  // Keep the canonical order so tables and alternation are stable.
  return known.filter((k) => items.includes(k));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      only: { type: 'string' },
      brokers: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'no-warmup': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run bench -- [--rounds N] [--only p2p,fanout] [--brokers skynet,mosquitto,aedes,null] [--quick] [--no-warmup] [--out FILE]');
    console.log(`clusters (two instances, publishers on the first, subscribers on the second): ${CLUSTER_NAMES.join(', ')}`);
    console.log(`${SCRAPED_SKYNET}: skynet with its admin listener, /metrics scraped every second (what metrics cost)`);
    console.log('  cross-instance figures: npm run bench -- --brokers mosquitto,skynet,' + CLUSTER_NAMES.join(',') + ' --only p2p,qos1');
    console.log(`scenarios: ${SCENARIO_NAMES.map((n) => `\n  ${n.padEnd(11)} ${SCENARIOS[n].description}`).join('')}`);
    return;
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
  const scenarios: ScenarioName[] = listOf('only', values.only, SCENARIO_NAMES, DEFAULT_SCENARIOS);
  const brokers: BrokerName[] = listOf<BrokerName>('brokers', values.brokers, [...BROKER_NAMES, SCRAPED_SKYNET, ...CLUSTER_NAMES], BROKER_NAMES);
  const scale = values.quick ? 0.1 : 1;

  const machine = describeMachine();
  const log = (line: string): void => console.error(line);
  log(`bench: ${brokers.join(', ')} × ${scenarios.join(', ')}, ${rounds} round(s)${values.quick ? ', quick' : ''}; ${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}`);
  const startedAt = new Date();
  const run = await runBench({ rounds, scenarios, brokers, scale, warmUp: !values['no-warmup'], timeoutMs: 120_000, log });
  const summaries = summarize(run.measurements, brokers, scenarios);

  const out = resolve(values.out ?? join(REPO_ROOT, 'bench-results', `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`));
  mkdirSync(dirname(out), { recursive: true });
  const report = {
    startedAt: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    machine,
    options: { rounds, scenarios, brokers, quick: values.quick, warmUp: !values['no-warmup'] },
    unavailable: run.unavailable,
    summaries,
    measurements: run.measurements,
  };
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');

  console.log(resultsTable(summaries, brokers, run.unavailable));
  console.log();
  console.log(cpuTable(summaries, brokers));
  console.log();
  console.log(LEGEND);
  for (const [b, why] of Object.entries(run.unavailable)) console.log(`${b}: not run: ${why}`);
  const invalid = run.measurements.filter((m) => !m.valid);
  for (const m of invalid) console.log(`invalid: round ${m.round} ${m.scenario} ${m.broker}: ${m.invalidReason}`);
  console.log(`\nresults: ${out} (${Math.round(report.seconds)} s)`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

// The harness end to end in its quickest mode against the null broker: every scenario must run and
// the generator must see every message exactly once. Counts only; no timing assertions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBench, SCENARIO_NAMES } from '../src/index.js';

test('quick run against the null broker: every scenario valid, no loss, no duplicates', { timeout: 120_000 }, async () => {
  const run = await runBench({
    rounds: 1,
    scenarios: SCENARIO_NAMES,
    brokers: ['null'],
    scale: 0.1,
    warmUp: false,
    timeoutMs: 60_000,
    log: () => {},
  });
  assert.deepEqual(run.unavailable, {});
  assert.deepEqual(run.measurements.map((m) => m.scenario), [...SCENARIO_NAMES]);
  for (const m of run.measurements) {
    assert.equal(m.invalidReason, undefined, `${m.scenario}: ${m.invalidReason}`);
    assert.ok(m.expected > 0, `${m.scenario}: nothing expected`);
    assert.equal(m.received, m.expected, `${m.scenario}: received ${m.received} of ${m.expected}`);
    assert.equal(m.duplicates, 0, `${m.scenario}: duplicates`);
  }
});

test('quick run across two Skynet instances on Redis: publishers on one, subscribers on the other, nothing lost', { timeout: 120_000 }, async () => {
  const run = await runBench({
    rounds: 1,
    scenarios: ['p2p', 'qos1'],
    brokers: ['skynet@redis'],
    scale: 0.02,
    warmUp: false,
    timeoutMs: 60_000,
    log: () => {},
  });
  assert.deepEqual(run.unavailable, {});
  assert.deepEqual(run.measurements.map((m) => m.scenario), ['p2p', 'qos1']);
  for (const m of run.measurements) {
    assert.equal(m.invalidReason, undefined, `${m.scenario}: ${m.invalidReason}`);
    assert.equal(m.received, m.expected, `${m.scenario}: received ${m.received} of ${m.expected}`);
    assert.ok((m.brokerCpuPct ?? 0) > 0, `${m.scenario}: no CPU measured for the two instances`);
  }
});

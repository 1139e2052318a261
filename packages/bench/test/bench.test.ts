// The harness end to end in its quickest mode against the null broker: every scenario must run and
// the generator must see every message exactly once. Counts only; no timing assertions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SCENARIOS, runBench, SCENARIOS } from '../src/index.js';

test('quick run against the null broker: every scenario it can run valid, no loss, no duplicates', { timeout: 120_000 }, async () => {
  const scenarios = DEFAULT_SCENARIOS.filter((name) => !SCENARIOS[name].unsupported?.includes('null'));
  const run = await runBench({
    rounds: 1,
    scenarios,
    brokers: ['null'],
    scale: 0.1,
    warmUp: false,
    timeoutMs: 60_000,
    log: () => {},
  });
  assert.deepEqual(run.unavailable, {});
  assert.deepEqual(run.measurements.map((m) => m.scenario), scenarios);
  for (const m of run.measurements) {
    assert.equal(m.invalidReason, undefined, `${m.scenario}: ${m.invalidReason}`);
    assert.ok(m.expected > 0, `${m.scenario}: nothing expected`);
    assert.equal(m.received, m.expected, `${m.scenario}: received ${m.received} of ${m.expected}`);
    assert.equal(m.duplicates, 0, `${m.scenario}: duplicates`);
  }
});

test('quick run of the retained replay and routing-table scenarios against Skynet: every message once, RETAIN set, none misrouted', { timeout: 180_000 }, async () => {
  const run = await runBench({
    rounds: 1,
    scenarios: ['retained', 'retained_q1', 'routes', 'p2p_16k'],
    brokers: ['skynet'],
    scale: 0.1,
    warmUp: false,
    timeoutMs: 60_000,
    log: () => {},
  });
  assert.deepEqual(run.measurements.map((m) => m.scenario), ['retained', 'retained_q1', 'routes', 'p2p_16k']);
  for (const m of run.measurements) {
    assert.equal(m.invalidReason, undefined, `${m.scenario}: ${m.invalidReason}`);
    assert.equal(m.received, m.expected, `${m.scenario}: received ${m.received} of ${m.expected}`);
    assert.equal(m.duplicates, 0, `${m.scenario}: duplicates`);
  }
});

test('quick run across two Skynet instances on Redis and on the MQTT bridge: publishers on one, subscribers on the other, nothing lost', { timeout: 180_000 }, async () => {
  const run = await runBench({
    rounds: 1,
    scenarios: ['p2p', 'qos1'],
    brokers: ['skynet@redis', 'skynet@mqtt'],
    scale: 0.02,
    warmUp: false,
    timeoutMs: 60_000,
    log: () => {},
  });
  assert.deepEqual(run.unavailable, {});
  assert.deepEqual(run.measurements.map((m) => `${m.broker} ${m.scenario}`).sort(), ['skynet@mqtt p2p', 'skynet@mqtt qos1', 'skynet@redis p2p', 'skynet@redis qos1']);
  for (const m of run.measurements) {
    const what = `${m.broker} ${m.scenario}`;
    assert.equal(m.invalidReason, undefined, `${what}: ${m.invalidReason}`);
    assert.equal(m.received, m.expected, `${what}: received ${m.received} of ${m.expected}`);
    assert.ok((m.brokerCpuPct ?? 0) > 0, `${what}: no CPU measured for the two instances`);
  }
});

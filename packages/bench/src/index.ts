// Programmatic entry (used by the test): run the harness and summarize it.
export { runBench, type BenchOptions, type BenchRun, type Measurement } from './runner.js';
export { summarize, resultsTable, cpuTable, type Summary } from './table.js';
export { BROKER_NAMES, CLUSTER_NAMES, type BrokerName } from './brokers.js';
export { DEFAULT_SCENARIOS, SCENARIO_NAMES, SCENARIOS, type ScenarioName } from './scenarios.js';

import { isMemory } from './backends.js';
import { unknownListenerOptions, type FlatListenerOptions } from './listeners/interface-options.js';

/**
 * Which keys of the options nothing reads, each with what to write instead when we can tell: a
 * misspelt or misplaced key is reported (a warning on start, a line on the CLI), never ignored
 * silently. Covers the top level, the listener shapes, and the memory Store and Emitter (an
 * adapter checks its own options).
 */
export function unknownOptions(options: Record<string, unknown>, known: ReadonlySet<string>): string[] {
  const report: string[] = [];
  for (const key of Object.keys(options)) if (!known.has(key)) report.push(withHint(key, key, [...known]));
  report.push(...unknownListenerOptions(options as FlatListenerOptions));
  report.push(...unknownMemoryOptions('persistence', 'factory', options.persistence, MEMORY_STORE_KEYS, ELSEWHERE_STORE));
  report.push(...unknownMemoryOptions('backend', 'type', options.backend, MEMORY_EMITTER_KEYS, ELSEWHERE_EMITTER));
  const ttl = isMemoryConfig('persistence', 'factory', options.persistence) ? (options.persistence as Record<string, unknown>).ttl : undefined;
  if (isObject(ttl)) {
    for (const key of Object.keys(ttl)) if (!TTL_KEYS.includes(key)) report.push(withHint(`persistence.ttl.${key}`, key, TTL_KEYS, 'persistence.ttl.'));
  }
  return report;
}

const MEMORY_STORE_KEYS = ['factory', 'ttl', 'maxQueuedMessages', 'maxQueuedBytes', 'storeMessagesQos0'];
const MEMORY_EMITTER_KEYS = ['type', 'json', 'wildcardOne', 'wildcardSome'];
const TTL_KEYS = ['subscriptions', 'packets', 'checkFrequency'];

/** Keys that belong to another Store or Emitter, and how to pick it. */
const ELSEWHERE_STORE: Record<string, string> = {
  path: "the memory store keeps nothing on disk: set persistence.factory: 'level' to keep it in LevelDB at path",
  db: "set persistence.factory: 'level' (LevelUp) or 'redis' to use it",
  valueEncoding: "set persistence.factory: 'level' to use LevelDB",
  host: "set persistence.factory: 'redis' to use it",
  port: "set persistence.factory: 'redis' to use it",
  url: "set persistence.factory: 'redis' (or 'mongodb') to use it",
  redisOptions: "set persistence.factory: 'redis' to use it",
  redisOpts: "set persistence.factory: 'redis' to use it",
};
const ELSEWHERE_EMITTER: Record<string, string> = {
  host: "backend has no type, so it is the in-process one: set backend.type (e.g. 'redis') to use it",
  port: "backend has no type, so it is the in-process one: set backend.type (e.g. 'redis') to use it",
  url: "backend has no type, so it is the in-process one: set backend.type (e.g. 'redis') to use it",
  prefix: "backend has no type, so it is the in-process one: set backend.type (e.g. 'redis') to use it",
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMemoryConfig(option: 'persistence' | 'backend', key: string, config: unknown): boolean {
  if (!isObject(config) || typeof config.publish === 'function' || typeof config.storeRetained === 'function') return false;
  const name = config[key];
  return name === undefined || (typeof name === 'string' && isMemory(option, name.toLowerCase()));
}

function unknownMemoryOptions(option: 'persistence' | 'backend', key: string, config: unknown, known: string[], elsewhere: Record<string, string>): string[] {
  if (!isMemoryConfig(option, key, config)) return [];
  return Object.keys(config as object)
    .filter((name) => !known.includes(name))
    .map((name) => (elsewhere[name] ? `${option}.${name} (${elsewhere[name]})` : withHint(`${option}.${name}`, name, known, `${option}.`)));
}

/** `path`, with "did you mean" the known key it is one or two typos away from, if any. */
function withHint(path: string, key: string, known: string[], prefix = ''): string {
  const near = known.find((candidate) => candidate.toLowerCase() === key.toLowerCase() || editDistance(candidate, key) <= Math.min(2, Math.floor(key.length / 3)));
  return near ? `${path} (did you mean ${prefix}${near}?)` : path;
}

/** Levenshtein distance, for short option names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

import type { Store } from '@skynet-mqtt/core';
import { LevelStore } from './level-store.js';
import { parseLevelOptions } from './options.js';

export { LevelStore } from './level-store.js';
export { parseLevelOptions, type LevelStoreOptions } from './options.js';

/**
 * The adapter entry point: core calls it for `persistence: { factory: 'level', path }` and for
 * the CLI's `--db PATH`. The options come untyped from a config file, so they are checked here.
 */
export async function createStore(options: Record<string, unknown>): Promise<Store> {
  return LevelStore.open(parseLevelOptions(options));
}

import { after } from 'node:test';
import { storeContract } from '@skynet-mqtt/contract-tests';
import { TempDirs } from '@skynet-mqtt/test-support';
import { LevelStore } from '../src/index.js';

const dirs = new TempDirs('skynet-level-');
after(() => dirs.removeAll());

// Each store gets its own directory; reopen opens the most recent one again once it is closed.
let lastPath = '';
const fresh = async (options: { ttl?: { subscriptions: number; packets: number }; maxQueuedMessages?: number } = {}) => {
  lastPath = await dirs.path('db');
  return LevelStore.open({ path: lastPath, ...options });
};

storeContract('LevelStore', () => fresh(), {
  reopen: () => LevelStore.open({ path: lastPath }),
  ttlStore: (ttl) => fresh({ ttl }),
  maxQueuedStore: (max) => fresh({ maxQueuedMessages: max }),
});

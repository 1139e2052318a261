import { after } from 'node:test';
import { storeContract } from '@skynet-mqtt/contract-tests';
import { LevelStore } from '../src/index.js';
import { TempDirs } from './helpers/temp.js';

const dirs = new TempDirs();
after(() => dirs.removeAll());

// Each store gets its own directory; reopen opens the most recent one again once it is closed.
let lastPath = '';
const fresh = async (options: { ttl?: { subscriptions: number; packets: number }; maxQueuedMessages?: number } = {}) => {
  lastPath = await dirs.make();
  return LevelStore.open({ path: lastPath, ...options });
};

storeContract('LevelStore', () => fresh(), {
  reopen: () => LevelStore.open({ path: lastPath }),
  ttlStore: (ttl) => fresh({ ttl }),
  maxQueuedStore: (max) => fresh({ maxQueuedMessages: max }),
});

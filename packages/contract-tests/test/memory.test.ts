import { MemoryEmitter, MemoryStore, type Emitter } from '@skynet-mqtt/core';
import { emitterContract, storeContract } from '../src/index.js';

// The memory adapters hold nothing beyond the process, so there is no `reopen`: the durability
// test is not registered for them.
storeContract('memory', async () => new MemoryStore(), {
  ttlStore: async (ttl) => new MemoryStore({ ttl }),
  maxQueuedStore: async (max) => new MemoryStore({ maxQueuedMessages: max }),
});

/**
 * The memory Emitter is one process by definition: "two broker instances on the same backend"
 * means two users of the same instance. Every makeEmitter() call returns the shared instance
 * until it is closed; the next call after that starts a new one, so each test gets a fresh bus.
 */
function sharedMemoryEmitter(): () => Promise<Emitter> {
  let current: Emitter | null = null;
  return async () => {
    if (!current) {
      const inner = new MemoryEmitter();
      const shared: Emitter = {
        publish: (m) => inner.publish(m),
        subscribe: (f, h) => inner.subscribe(f, h),
        unsubscribe: (f, h) => inner.unsubscribe(f, h),
        sync: () => inner.sync(),
        close: async () => {
          if (current === shared) current = null;
          await inner.close();
        },
      };
      current = shared;
    }
    return current;
  };
}

emitterContract('memory', sharedMemoryEmitter());

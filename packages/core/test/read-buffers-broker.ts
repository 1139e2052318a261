/**
 * A broker in a process of its own, for read-buffers.test.ts: started with the Node flags the test
 * chooses, it counts the scavenges asked for through `gc()` (V8 marks them forced) and reports them
 * over IPC.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { Server } from '../src/index.js';

let scavenges = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const { kind, flags } = (entry as PerformanceEntry & { detail: { kind: number; flags: number } }).detail;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR && (flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) scavenges++;
  }
}).observe({ entryTypes: ['gc'] });

const server = await Server.start({ port: 0, host: '127.0.0.1', logger: false });
const send = (message: unknown) => process.send!(message);

process.on('message', (request) => {
  // GC entries reach the observer a little after the collection: wait for them first.
  setTimeout(() => {
    if (request === 'count') send(scavenges);
    if (request === 'reset') {
      scavenges = 0;
      send('reset');
    }
  }, 200);
});
send({ port: server.address()[0]!.port });

/**
 * A broker in a process of its own, for read-buffers.test.ts: started with the Node flags the test
 * chooses, it counts the garbage collections V8 runs and reports them over IPC.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { Server } from '../src/index.js';

const counts = { major: 0, minor: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const { kind } = (entry as PerformanceEntry & { detail: { kind: number } }).detail;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.major++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.minor++;
  }
}).observe({ entryTypes: ['gc'] });

const server = await Server.start({ port: 0, host: '127.0.0.1', logger: false });
const send = (message: unknown) => process.send!(message);

process.on('message', (request) => {
  // GC entries reach the observer a little after the collection: wait for them first.
  setTimeout(() => {
    if (request === 'count') send({ ...counts });
    if (request === 'reset') {
      counts.major = 0;
      counts.minor = 0;
      send('reset');
    }
  }, 200);
});
send({ port: server.address()[0]!.port });

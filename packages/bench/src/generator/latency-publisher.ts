// Worker thread: publishes at a steady rate for the latency scenario. A worker because pacing at
// 5,000 msg/s needs sub-millisecond sleeps (Atomics.wait), which would block the receiving thread
// if done there. Each message is stamped right before it is written.
import { parentPort, workerData } from 'node:worker_threads';
import { RawClient } from './client.js';
import { STAMP_OFFSET, publishBatch } from './frames.js';

export interface LatencyPublisherData {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  readonly topic: string;
  readonly payload: number;
  readonly rate: number;
  readonly count: number;
}

/** Messages from the worker to its parent. */
export type LatencyPublisherMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'sent'; readonly count: number; readonly error: string | undefined }
  | { readonly kind: 'failed'; readonly error: string };

const data = workerData as LatencyPublisherData;
const port = parentPort!;
const post = (m: LatencyPublisherMessage): void => port.postMessage(m);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function main(): Promise<void> {
  const client = await RawClient.open({ host: data.host, port: data.port }, data.clientId);
  const batch = publishBatch(data.topic, 0, data.payload, 0, data.count);
  await new Promise<void>((resolve) => {
    port.once('message', () => resolve());
    post({ kind: 'ready' });
  });
  const intervalNs = 1e9 / data.rate;
  const t0 = Number(process.hrtime.bigint());
  for (let i = 0; i < data.count && !client.error; i++) {
    const due = t0 + i * intervalNs;
    const waitMs = (due - Number(process.hrtime.bigint())) / 1e6;
    if (waitMs > 0) Atomics.wait(sleeper, 0, 0, waitMs);
    const at = i * batch.frameLength;
    batch.frames.writeDoubleLE(Number(process.hrtime.bigint()), at + batch.payloadOffset + STAMP_OFFSET);
    client.socket.write(batch.frames.subarray(at, at + batch.frameLength));
    // Let the event loop complete the write (a synchronous loop would leave the socket "busy"
    // and every later write buffered in the stream).
    await yieldToLoop();
  }
  post({ kind: 'sent', count: data.count, error: client.error });
  await client.close();
}

main().catch((err: unknown) => post({ kind: 'failed', error: err instanceof Error ? err.message : String(err) }));

// End-to-end latency at a fixed rate, 1 → 1 QoS 0: the publisher (a worker thread) stamps each
// payload with the monotonic clock, the subscriber here subtracts it on arrival. The first
// `warmupSeconds` of messages are sent but not counted.
import { Worker } from 'node:worker_threads';
import { RawClient, closeAll, firstError } from './client.js';
import { Completion } from './completion.js';
import { STAMP_OFFSET } from './frames.js';
import type { LatencyPublisherData, LatencyPublisherMessage } from './latency-publisher.js';
import type { Outcome, RunContext } from './outcome.js';
import { SequenceCheck, isPublish, payloadOffset, sequenceOf } from './sequence-check.js';
import { percentileSorted } from '../stats.js';

export interface LatencyRun {
  readonly rate: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly payload: number;
  readonly idleMs: number;
}

export async function runLatency(ctx: RunContext, run: LatencyRun): Promise<Outcome> {
  const topic = `bench/${ctx.tag}`;
  const warmup = Math.round(run.rate * run.warmupSeconds);
  const count = warmup + Math.round(run.rate * run.seconds);
  const clients: RawClient[] = [];
  let worker: Worker | undefined;
  try {
    const sub = await RawClient.open(ctx.subscriberTarget, `${ctx.tag}s`);
    clients.push(sub);
    await sub.subscribe(topic, 0);

    const check = new SequenceCheck(count);
    const latencyNs = new Float64Array(count).fill(Number.NaN);
    let unexpected = 0;
    const completion = new Completion(ctx.brokerPids, () => check.received, run.idleMs, ctx.timeoutMs);
    sub.onFrames((buf, header, body, end) => {
      if (!isPublish(header)) {
        unexpected++;
        return;
      }
      const payload = payloadOffset(buf, header, body);
      const seq = sequenceOf(buf, payload, end);
      if (!check.record(seq)) return;
      latencyNs[seq] = Number(process.hrtime.bigint()) - buf.readDoubleLE(payload + STAMP_OFFSET);
      if (check.received === count) completion.done();
    });

    const data: LatencyPublisherData = {
      host: ctx.target.host,
      port: ctx.target.port,
      clientId: `${ctx.tag}p`,
      topic,
      payload: run.payload,
      rate: run.rate,
      count,
    };
    worker = new Worker(new URL('./latency-publisher.js', import.meta.url), { workerData: data });
    const w = worker;
    let publisherError: string | undefined;
    const sent = new Promise<void>((resolve) => {
      w.on('message', (m: LatencyPublisherMessage) => {
        if (m.kind === 'ready') {
          w.postMessage('go');
          // The measured window (CPU figures) starts after the warm-up messages.
          setTimeout(() => completion.start(), run.warmupSeconds * 1000);
        } else {
          publisherError = m.error;
          resolve();
        }
      });
      w.on('error', (err) => {
        publisherError = err.message;
        resolve();
      });
    });
    await sent;
    if (publisherError !== undefined && check.received === 0) {
      return failed(count, publisherError);
    }
    completion.start(); // no-op unless the publisher ended before its warm-up did
    const ending = await completion.ended;

    const measured = Array.from(latencyNs.subarray(warmup)).filter((x) => !Number.isNaN(x));
    const sorted = Float64Array.from(measured).sort();
    const us = (ns: number | undefined): number => (ns === undefined ? Number.NaN : ns / 1000);
    return {
      expected: count,
      received: check.received,
      duplicates: check.duplicates,
      error:
        publisherError ??
        firstError(clients) ??
        (unexpected + check.malformed > 0 ? `${unexpected + check.malformed} unexpected frames` : undefined) ??
        (ending === 'timeout' ? `timed out after ${ctx.timeoutMs} ms` : undefined),
      window: completion.window!,
      metrics: {
        p50Us: us(percentileSorted(sorted, 50)),
        p99Us: us(percentileSorted(sorted, 99)),
        p999Us: us(percentileSorted(sorted, 99.9)),
        maxUs: us(sorted[sorted.length - 1]),
        msgsPerS: measured.length / completion.activeSeconds,
      },
    };
  } finally {
    await worker?.terminate();
    await closeAll(clients);
  }
}

function failed(expected: number, error: string): Outcome {
  return {
    expected,
    received: 0,
    duplicates: 0,
    error,
    window: { seconds: 0, generatorCpuPct: 0, brokerCpuPct: undefined, otherCpuPct: undefined, brokerRssPeakBytes: undefined },
    metrics: {},
  };
}

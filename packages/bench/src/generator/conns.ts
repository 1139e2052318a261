// Idle connections: N clients each CONNECT and SUBSCRIBE (pipelined, see RawClient.openSubscribed)
// to a topic of their own, at most `concurrency` handshakes at a time (below the listen backlog, so
// the figure is the broker's and not SYN retransmissions). Reports the connect rate and the
// broker's RSS per idle connection.
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient, closeAll, firstError } from './client.js';
import { Completion } from './completion.js';
import type { Outcome, RunContext } from './outcome.js';
import { readRssBytes, rssPer, sumOver } from '../proc.js';

export interface ConnsRun {
  readonly connections: number;
  readonly concurrency: number;
  /** Pause before reading RSS "after", so the broker settles (and a GC may run). */
  readonly holdMs: number;
}

export async function runConns(ctx: RunContext, run: ConnsRun): Promise<Outcome> {
  const clients: RawClient[] = [];
  let error: string | undefined;
  let ready = 0;
  try {
    const rssBefore = sumOver(ctx.brokerPids, readRssBytes);
    const completion = new Completion(ctx.brokerPids, () => ready, 5000, ctx.timeoutMs);
    completion.start();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < run.connections && error === undefined) {
        const i = next++;
        try {
          clients.push(await RawClient.openSubscribed(ctx.target, `${ctx.tag}i${i}`, `bench/${ctx.tag}/idle/${i}`, 0));
          if (++ready === run.connections) completion.done();
        } catch (err) {
          error ??= err instanceof Error ? err.message : String(err);
        }
      }
    };
    await Promise.race([Promise.all(Array.from({ length: run.concurrency }, lane)), completion.ended]);
    if (ready < run.connections) {
      error ??= `only ${ready} of ${run.connections} connections`;
      completion.done(); // lanes stopped on an error: close the window now (no-op after idle/timeout)
    }
    const ending = await completion.ended;
    await sleep(run.holdMs);
    const rssAfter = sumOver(ctx.brokerPids, readRssBytes);
    return {
      expected: run.connections,
      received: ready,
      duplicates: 0,
      error:
        error ??
        firstError(clients) ??
        (ending !== 'done' ? `only ${ready} of ${run.connections} connections (${ending})` : undefined),
      window: completion.window!,
      metrics: {
        connsPerS: ready / completion.activeSeconds,
        rssPerConnB: rssPer(rssBefore, rssAfter, ready),
        rssBeforeB: rssBefore ?? Number.NaN,
        rssAfterB: rssAfter ?? Number.NaN,
      },
    };
  } finally {
    await closeAll(clients);
  }
}

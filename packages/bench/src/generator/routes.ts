// A large routing table: `subscribers` clients each hold `filters` filters (of every 10: 5 exact
// topics, 2 ending in '+', 1 with '+' inside, 2 ending in '#'), then one publisher sends
// `messages` QoS 0 messages to random topics, each matching exactly one filter of one subscriber.
// Figures: messages routed per second, subscriptions made per second (one SUBSCRIBE per filter,
// pipelined per client, `concurrency` clients at a time), and the broker's RSS per subscription
// (RSS with every client connected and subscribed, minus RSS with them connected only). A message
// at a subscriber none of whose filters it matches is an error.
import { setTimeout as sleep } from 'node:timers/promises';
import { generate } from 'mqtt-packet';
import { readRssBytes, rssPer, sumOver } from '../proc.js';
import { RawClient, closeAll, firstError } from './client.js';
import { Completion } from './completion.js';
import { PacketType, publishFrame } from './frames.js';
import type { Outcome, RunContext } from './outcome.js';
import { SequenceCheck, isPublish, payloadOffset, sequenceOf } from './sequence-check.js';

export interface RoutesRun {
  readonly subscribers: number;
  readonly filters: number;
  readonly messages: number;
  readonly payload: number;
  readonly concurrency: number;
  /** Pause before each RSS reading. */
  readonly holdMs: number;
  readonly idleMs: number;
}

/** Filter `f` of subscriber `s`, and a topic that only it matches. */
function route(prefix: string, s: number, f: number): { filter: string; topic: string } {
  const kind = f % 10;
  if (kind < 5) return { filter: `${prefix}/${s}/${f}`, topic: `${prefix}/${s}/${f}` };
  if (kind < 7) return { filter: `${prefix}/${s}/${f}/+`, topic: `${prefix}/${s}/${f}/v` };
  if (kind < 8) return { filter: `${prefix}/m/+/${s}/${f}`, topic: `${prefix}/m/z/${s}/${f}` };
  return { filter: `${prefix}/h/${s}/${f}/#`, topic: `${prefix}/h/${s}/${f}/a/b` };
}

export async function runRoutes(ctx: RunContext, run: RoutesRun): Promise<Outcome> {
  const prefix = `bench/${ctx.tag}/rt`;
  const subs: RawClient[] = [];
  const clients: RawClient[] = [];
  try {
    // Connected, not subscribed: the base line of the memory figure.
    let next = 0;
    await Promise.all(
      Array.from({ length: run.concurrency }, async () => {
        while (next < run.subscribers) {
          const s = next++;
          subs[s] = await RawClient.open(ctx.subscriberTarget, `${ctx.tag}s${s}`);
        }
      }),
    );
    clients.push(...subs);
    await sleep(run.holdMs);
    const rssConnected = sumOver(ctx.brokerPids, readRssBytes);

    const started = process.hrtime.bigint();
    let refused = 0;
    next = 0;
    await Promise.all(
      Array.from({ length: run.concurrency }, async () => {
        while (next < run.subscribers) {
          const s = next++;
          refused += await subscribeAll(subs[s]!, Array.from({ length: run.filters }, (_, f) => route(prefix, s, f).filter));
        }
      }),
    );
    const subscribeSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    await sleep(run.holdMs);
    const rssSubscribed = sumOver(ctx.brokerPids, readRssBytes);

    // Each message to a random filter; its subscriber is remembered to catch misrouting.
    const owner = new Uint32Array(run.messages);
    const frames: Buffer[] = [];
    for (let i = 0; i < run.messages; i++) {
      const s = Math.floor(Math.random() * run.subscribers);
      owner[i] = s;
      frames.push(publishFrame(route(prefix, s, Math.floor(Math.random() * run.filters)).topic, 0, false, 0, run.payload, i));
    }
    const batch = Buffer.concat(frames);
    frames.length = 0;

    const check = new SequenceCheck(run.messages);
    let misrouted = 0;
    let unexpected = 0;
    const completion = new Completion(ctx.brokerPids, () => check.received, run.idleMs, ctx.timeoutMs);
    subs.forEach((sub, s) =>
      sub.onFrames((buf, header, body, end) => {
        if (!isPublish(header)) {
          unexpected++;
          return;
        }
        const seq = sequenceOf(buf, payloadOffset(buf, header, body), end);
        if (seq >= 0 && seq < run.messages && owner[seq] !== s) misrouted++;
        else if (check.record(seq) && check.received === run.messages) completion.done();
      }),
    );
    const pub = await RawClient.open(ctx.target, `${ctx.tag}p`);
    clients.push(pub);
    completion.start();
    pub.socket.write(batch);
    const ending = await completion.ended;
    return {
      expected: run.messages,
      received: check.received,
      duplicates: check.duplicates,
      error:
        firstError(clients) ??
        (refused > 0 ? `${refused} subscriptions refused` : undefined) ??
        (misrouted > 0 ? `${misrouted} messages at a subscriber whose filters do not match them` : undefined) ??
        (unexpected + check.malformed > 0 ? `${unexpected + check.malformed} unexpected frames` : undefined) ??
        (ending === 'timeout' ? `timed out after ${ctx.timeoutMs} ms` : undefined),
      window: completion.window!,
      metrics: {
        msgsPerS: check.received / completion.activeSeconds,
        subsPerS: (run.subscribers * run.filters) / subscribeSeconds,
        rssPerSubB: rssPer(rssConnected, rssSubscribed, run.subscribers * run.filters),
      },
    };
  } finally {
    await closeAll(clients);
  }
}

/** One SUBSCRIBE per filter, written together; resolves once every SUBACK is in, with how many refused. */
function subscribeAll(client: RawClient, filters: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    let acked = 0;
    let refused = 0;
    // A connection the broker closes counts its missing SUBACKs as refusals.
    client.socket.once('close', () => resolve(refused + filters.length - acked));
    client.onFrames((buf, header, body) => {
      if (header >> 4 !== PacketType.Suback) return;
      if (buf[body + 2] === 0x80) refused++;
      if (++acked === filters.length) {
        client.onFrames(() => {});
        resolve(refused);
      }
    });
    client.socket.write(Buffer.concat(filters.map((topic, i) => generate({ cmd: 'subscribe', messageId: i + 1, subscriptions: [{ topic, qos: 0 }] }))));
  });
}

import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import type { DescriptorGuard } from '../listeners/descriptor-guard.js';
import { unref } from '../timers.js';
import { VERSION } from '../version.js';
import type { ByteBudget } from '../connection/byte-budget.js';
import { CLOSE_CAUSES, DROP_REASONS, type BrokerStats } from './broker-stats.js';

/** Publishes one `$SYS/<broker id>/...` topic with a text payload. */
export type SysPublish = (topic: string, value: string) => void;

/**
 * `$SYS` statistics every `interval` ms, with Mosca's topic names plus a few of Mosquitto's
 * (`publish/sent`, `messages/dropped`). Load figures are messages or connections per minute,
 * averaged over 1, 5 and 15 minutes.
 */
export class SysPublisher {
  private readonly timer: NodeJS.Timeout;
  private lastReceived = 0;

  constructor(
    private readonly stats: BrokerStats,
    private readonly publish: SysPublish,
    private readonly interval: number,
    private readonly incompletePackets: ByteBudget,
    private readonly descriptors: DescriptorGuard,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.safeTick(), interval);
    unref(this.timer);
  }

  /** A failing tick is logged, never thrown: an exception in a timer would end the process. */
  private safeTick(): void {
    try {
      this.tick();
    } catch (error) {
      this.logger.error({ err: error }, 'could not publish the $SYS statistics');
    }
  }

  /**
   * RSS is read from /proc, which needs a file descriptor: without one (EMFILE) it is left out of
   * this round, and the heap figures come from V8, which needs none.
   */
  private memory(): { rss?: number; heapUsed: number; heapTotal: number } {
    try {
      return process.memoryUsage();
    } catch (error) {
      if (!this.descriptors.handle(error, '$SYS statistics')) throw error;
      const heap = getHeapStatistics();
      return { heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size };
    }
  }

  private tick(): void {
    const s = this.stats;
    const perMinute = 60_000 / this.interval;
    const received = (s.publishReceived - this.lastReceived) * perMinute;
    this.lastReceived = s.publishReceived;
    for (const [minutes, load] of [[1, s.load.m1], [5, s.load.m5], [15, s.load.m15]] as const) {
      // An exponential moving average over `minutes`, sampled every interval.
      const k = Math.min(1, this.interval / (minutes * 60_000));
      load.connectedClients += k * (s.connected - load.connectedClients);
      load.publishedMessages += k * (received - load.publishedMessages);
    }
    const memory = this.memory();
    const values: [string, string | number][] = [
      ['version', `skynet-mqtt ${VERSION}`],
      ['started_at', s.startedAt.toISOString()],
      ['uptime', `${Math.round((Date.now() - s.startedAt.getTime()) / 1000)} seconds`],
      ['clients/connected', s.connected],
      ['clients/maximum', s.maximumConnected],
      ['publish/received', s.publishReceived],
      ['publish/sent', s.publishSent],
      ['messages/dropped', s.dropped],
      ['load/connections/1min', s.load.m1.connectedClients.toFixed(2)],
      ['load/connections/5min', s.load.m5.connectedClients.toFixed(2)],
      ['load/connections/15min', s.load.m15.connectedClients.toFixed(2)],
      ['load/publish/received/1min', s.load.m1.publishedMessages.toFixed(2)],
      ['load/publish/received/5min', s.load.m5.publishedMessages.toFixed(2)],
      ['load/publish/received/15min', s.load.m15.publishedMessages.toFixed(2)],
      ...(memory.rss === undefined ? [] : [['memory/rss', memory.rss] as [string, number]]),
      ['memory/heap/current', memory.heapUsed],
      ['memory/heap/maximum', memory.heapTotal],
      ['memory/incompletePackets', this.incompletePackets.used],
      ...CLOSE_CAUSES.map((cause): [string, number] => [`clients/closed/${cause}`, s.closedBy[cause]]),
      ...DROP_REASONS.map((reason): [string, number] => [`messages/dropped/${reason}`, s.droppedBy[reason]]),
    ];
    for (const [topic, value] of values) this.publish(topic, String(value));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// CPU and memory over a measured window: the generator's own CPU (process.cpuUsage covers every
// thread of this process, workers included) and the broker's from /proc, plus the broker's RSS
// sampled every 50 ms for its peak (VmHWM would include peaks from earlier scenarios).
import { readCpuSeconds, readRssBytes } from './proc.js';

export interface Window {
  readonly seconds: number;
  /** Percent of one core. */
  readonly generatorCpuPct: number;
  readonly brokerCpuPct: number | undefined;
  readonly brokerRssPeakBytes: number | undefined;
}

export class Meter {
  private t0 = 0n;
  private gen0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private broker0: number | undefined;
  private rssPeak: number | undefined;
  private sampler: NodeJS.Timeout | undefined;

  constructor(private readonly brokerPid: number) {}

  start(): void {
    this.rssPeak = readRssBytes(this.brokerPid);
    this.sampler = setInterval(() => this.sampleRss(), 50);
    this.broker0 = readCpuSeconds(this.brokerPid);
    this.gen0 = process.cpuUsage();
    this.t0 = process.hrtime.bigint();
  }

  stop(): Window {
    const seconds = Number(process.hrtime.bigint() - this.t0) / 1e9;
    const gen = process.cpuUsage(this.gen0);
    const broker1 = readCpuSeconds(this.brokerPid);
    clearInterval(this.sampler);
    this.sampleRss();
    const pct = (cpuSeconds: number): number => (seconds > 0 ? (100 * cpuSeconds) / seconds : 0);
    return {
      seconds,
      generatorCpuPct: pct((gen.user + gen.system) / 1e6),
      brokerCpuPct: this.broker0 !== undefined && broker1 !== undefined ? pct(broker1 - this.broker0) : undefined,
      brokerRssPeakBytes: this.rssPeak,
    };
  }

  private sampleRss(): void {
    const rss = readRssBytes(this.brokerPid);
    if (rss !== undefined && (this.rssPeak === undefined || rss > this.rssPeak)) this.rssPeak = rss;
  }
}

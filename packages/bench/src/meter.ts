// CPU and memory over a measured window: the generator's own CPU (process.cpuUsage covers every
// thread of this process, workers included) and the broker's from /proc, plus the broker's RSS
// sampled every 50 ms for its peak (VmHWM would include peaks from earlier scenarios). A cluster's
// figures are the sums over its processes.
import { readCpuSeconds, readMachineBusySeconds, readRssBytes, sumOver } from './proc.js';

export interface Window {
  readonly seconds: number;
  /** Percent of one core. */
  readonly generatorCpuPct: number;
  readonly brokerCpuPct: number | undefined;
  /** Everything else on the machine (other users' work): high values make the figure suspect. */
  readonly otherCpuPct: number | undefined;
  readonly brokerRssPeakBytes: number | undefined;
}

export class Meter {
  private t0 = 0n;
  private gen0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private broker0: number | undefined;
  private machine0: number | undefined;
  private rssPeak: number | undefined;
  private sampler: NodeJS.Timeout | undefined;

  constructor(private readonly brokerPids: readonly number[]) {}

  start(): void {
    this.rssPeak = this.rss();
    this.sampler = setInterval(() => this.sampleRss(), 50);
    this.broker0 = sumOver(this.brokerPids, readCpuSeconds);
    this.machine0 = readMachineBusySeconds();
    this.gen0 = process.cpuUsage();
    this.t0 = process.hrtime.bigint();
  }

  stop(): Window {
    const seconds = Number(process.hrtime.bigint() - this.t0) / 1e9;
    const gen = process.cpuUsage(this.gen0);
    const broker1 = sumOver(this.brokerPids, readCpuSeconds);
    const machine1 = readMachineBusySeconds();
    clearInterval(this.sampler);
    this.sampleRss();
    const pct = (cpuSeconds: number): number => (seconds > 0 ? (100 * cpuSeconds) / seconds : 0);
    const genSeconds = (gen.user + gen.system) / 1e6;
    const brokerSeconds = this.broker0 !== undefined && broker1 !== undefined ? broker1 - this.broker0 : undefined;
    const machineSeconds = this.machine0 !== undefined && machine1 !== undefined ? machine1 - this.machine0 : undefined;
    return {
      seconds,
      generatorCpuPct: pct(genSeconds),
      brokerCpuPct: brokerSeconds === undefined ? undefined : pct(brokerSeconds),
      // Tick granularity (10 ms) makes this noisy on short windows; never below zero.
      otherCpuPct:
        machineSeconds === undefined || brokerSeconds === undefined ? undefined : Math.max(0, pct(machineSeconds - genSeconds - brokerSeconds)),
      brokerRssPeakBytes: this.rssPeak,
    };
  }

  private rss(): number | undefined {
    return sumOver(this.brokerPids, readRssBytes);
  }

  private sampleRss(): void {
    const rss = this.rss();
    if (rss !== undefined && (this.rssPeak === undefined || rss > this.rssPeak)) this.rssPeak = rss;
  }
}

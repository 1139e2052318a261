/** What a broker process holds, read from /proc (Linux): its resident memory and its open sockets. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Resident set size of process `pid`, in bytes. */
export function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** How many sockets (listening ones included) process `pid` has open. */
export function socketsOf(pid: number): number {
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between the listing and the read
    }
  }
  return sockets;
}

/**
 * Samples the RSS of `pid` every `everyMs` until stopped; `peak` is the highest seen. The timer
 * does not keep the test process alive, so a failed assertion before stop() cannot hang it.
 */
export class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, everyMs = 25) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs).unref();
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, rssOf(this.pid));
    } catch {
      // The process is gone: the test sees it otherwise.
    }
  }

  /** Stops sampling; returns the peak. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

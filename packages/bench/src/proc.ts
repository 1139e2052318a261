// Readings from /proc for a process we started: resident memory and CPU time.
// Linux only; every reader returns undefined instead of throwing when the process is gone.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ); 100 on every mainstream Linux. */
export const CLOCK_TICKS: number = (() => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

/** VmRSS of a process in bytes. */
export function readRssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime of a process (all its threads), in seconds. */
export function readCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS : undefined;
  } catch {
    return undefined;
  }
}

/** Machine-wide busy CPU time (all cores, excluding idle, iowait and steal), in seconds. */
export function readMachineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal (guest is already inside user)
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (v.length < 8 || v.some((x) => !Number.isFinite(x))) return undefined;
    const busy = v[0]! + v[1]! + v[2]! + v[5]! + v[6]!;
    return busy / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** `read` summed over several processes; undefined if any reading is. */
export function sumOver(pids: readonly number[], read: (pid: number) => number | undefined): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const value = read(pid);
    if (value === undefined) return undefined;
    total += value;
  }
  return total;
}

/** (after − before) ÷ count: the broker's memory per item added; NaN when a reading is missing. */
export function rssPer(before: number | undefined, after: number | undefined, count: number): number {
  return before !== undefined && after !== undefined ? (after - before) / Math.max(1, count) : Number.NaN;
}

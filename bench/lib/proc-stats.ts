/** CPU seconds and memory of another process, read from /proc (Linux). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of the process (its threads included), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** VmRSS and VmHWM (peak RSS over the process's life), in MB. */
export function memoryMb(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** Samples RSS every intervalMs and keeps the maximum, for a per-scenario peak (VmHWM only knows the lifetime peak). */
export function rssSampler(pid: number, intervalMs = 200): { stop(): number } {
  let max = memoryMb(pid).rssMb;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, memoryMb(pid).rssMb);
    } catch {
      /* the process is gone */
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        max = Math.max(max, memoryMb(pid).rssMb);
      } catch {
        /* gone */
      }
      return max;
    },
  };
}

export interface CpuMeasured {
  cpuSeconds: number;
  wallSeconds: number;
}

/** CPU seconds of a process between start() and end() (e.g. a load generator's measuring window). */
export function cpuWindow(pid: number): { start(): void; end(): void; result(): CpuMeasured } {
  let c0 = 0;
  let t0 = 0;
  let c1 = 0;
  let t1 = 0;
  return {
    start() {
      c0 = cpuSeconds(pid);
      t0 = performance.now();
    },
    end() {
      c1 = cpuSeconds(pid);
      t1 = performance.now();
    },
    result: () => ({ cpuSeconds: c1 - c0, wallSeconds: (t1 - t0) / 1000 }),
  };
}

/** The machine's CPU time counters (/proc/stat, all CPUs): steal is time the hypervisor gave to others. */
function machineTicks(): { steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user).
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { steal: ticks[7] ?? 0, total: ticks.reduce((sum, value) => sum + value, 0) };
}

/**
 * The share of this machine's CPU time the host took away (steal) between start() and end(), in
 * percent. On a shared host it says how far a window's figures were squeezed by someone else.
 */
export function stealWindow(): { start(): void; end(): void; percent(): number } {
  let first = machineTicks();
  let last = first;
  return {
    start() {
      first = machineTicks();
    },
    end() {
      last = machineTicks();
    },
    percent: () => Number(((100 * (last.steal - first.steal)) / Math.max(1, last.total - first.total)).toFixed(1)),
  };
}

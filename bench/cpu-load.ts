import { readdirSync, readFileSync } from 'node:fs';

/**
 * How much CPU *other* processes took while the bench ran: the machine's busy time from /proc/stat
 * minus the time of this process tree (the bench, its peers' processes, the pipeline children; their
 * reaped children's time moves into the parent's cutime/cstime, so none is lost or counted twice).
 * Steal (the host running another guest while this one waited) is sampled beside it: a steal-heavy
 * host looks quiet by busy time alone. Sampled once a second. /proc/loadavg would not do: it counts
 * runnable tasks (ours included, and the damped 1-minute average lags a burst by a minute), so it
 * cannot say whose CPU it was.
 */
export interface LoadSample {
  atMs: number;
  /** Cores other processes kept busy over the last interval (0..cpus). */
  otherCores: number;
  /** Cores this process tree used. */
  ownCores: number;
  /** Cores the hypervisor gave to other guests while this one wanted them (steal): as unavailable as a busy core. */
  stealCores: number;
}

export interface LoadSummary {
  /** Where the figure comes from: see docs/benchmarks.md. */
  source: '/proc/stat minus this process tree';
  meanCores: number;
  maxCores: number;
  /** Mean and peak steal (absent in rows measured before it was sampled). */
  stealMeanCores?: number;
  stealMaxCores?: number;
  samples: number;
}

/** Cores the run could not have: other processes plus steal. Over LOADED_ABOVE_CORES, a row is loaded. */
export const takenCores = (s: LoadSummary | undefined): number =>
  (s?.meanCores ?? 0) + (s?.stealMeanCores ?? 0);

/** Jiffies per second (USER_HZ): 100 on every Linux the bench runs on. */
const CLK_TCK = 100;

/** Mean cores that `jiffies` of CPU time make over `seconds` (never below zero). */
export const coresOver = (jiffies: number, seconds: number): number =>
  Math.max(0, jiffies) / CLK_TCK / seconds;

/** The numbers of the aggregate `cpu` line: user, nice, system, idle, iowait, irq, softirq, steal, ... */
function aggregateCpu(procStat: string): number[] {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no aggregate cpu line');
  return line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map((n) => Number(n) || 0);
}

/** user + nice + system + irq + softirq of the aggregate `cpu` line (idle, iowait and steal are not work). */
export function busyJiffies(procStat: string): number {
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = aggregateCpu(procStat);
  return user + nice + system + irq + softirq;
}

/** The steal column: time this virtual machine was ready to run while the host ran another guest. */
export function stealJiffies(procStat: string): number {
  return aggregateCpu(procStat)[7] ?? 0;
}

/** utime + stime + cutime + cstime of one /proc/<pid>/stat line (fields 14-17; the name may hold spaces). */
export function processJiffies(pidStat: string): number {
  const rest = pidStat.slice(pidStat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, so rest[11].
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(rest[i] ?? 0), 0);
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process ended between listing and reading: its time is in its parent's cutime
  }
}

/** This process and every live descendant, through /proc/<pid>/task/<tid>/children. */
export function processTree(root = process.pid): number[] {
  const seen: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    seen.push(pid);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const children = read(`/proc/${pid}/task/${tid}/children`) ?? '';
      for (const c of children.trim().split(/\s+/).filter(Boolean)) queue.push(Number(c));
    }
  }
  return seen;
}

const treeJiffies = (): number =>
  processTree().reduce((sum, pid) => sum + processJiffies(read(`/proc/${pid}/stat`) ?? ''), 0);

interface Reading {
  atMs: number;
  busy: number;
  own: number;
  steal: number;
}

/** Cores used by others, by us and stolen by the host between two readings. */
export function coresBetween(a: Reading, b: Reading): Omit<LoadSample, 'atMs'> {
  const seconds = (b.atMs - a.atMs) / 1000;
  if (seconds <= 0) return { otherCores: 0, ownCores: 0, stealCores: 0 };
  const own = coresOver(b.own - a.own, seconds);
  return {
    otherCores: Math.max(0, coresOver(b.busy - a.busy, seconds) - own),
    ownCores: own,
    stealCores: coresOver(b.steal - a.steal, seconds),
  };
}

/** Samples every `intervalMs` until stopped; `summary(from, to)` for one row's run. */
export class OtherCpuSampler {
  private readonly samples: LoadSample[] = [];
  private last: Reading | undefined;
  private timer: NodeJS.Timeout | undefined;
  readonly available: boolean;

  constructor(private readonly intervalMs = 1000) {
    this.available = read('/proc/stat') !== undefined;
  }

  start(): void {
    if (!this.available || this.timer) return;
    this.last = this.reading();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  summary(fromMs: number, toMs: number): LoadSummary | undefined {
    const inside = this.samples.filter((s) => s.atMs > fromMs && s.atMs <= toMs + this.intervalMs);
    if (inside.length === 0) return undefined;
    const round = (n: number) => Math.round(n * 100) / 100;
    const mean = (pick: (s: LoadSample) => number) =>
      round(inside.reduce((n, s) => n + pick(s), 0) / inside.length);
    const max = (pick: (s: LoadSample) => number) => round(Math.max(...inside.map(pick)));
    return {
      source: '/proc/stat minus this process tree',
      meanCores: mean((s) => s.otherCores),
      maxCores: max((s) => s.otherCores),
      stealMeanCores: mean((s) => s.stealCores),
      stealMaxCores: max((s) => s.stealCores),
      samples: inside.length,
    };
  }

  private reading(): Reading {
    const stat = read('/proc/stat') ?? '';
    return { atMs: Date.now(), busy: busyJiffies(stat), own: treeJiffies(), steal: stealJiffies(stat) };
  }

  private sample(): void {
    const now = this.reading();
    if (this.last) this.samples.push({ atMs: now.atMs, ...coresBetween(this.last, now) });
    this.last = now;
  }
}

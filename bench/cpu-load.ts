import { readdirSync, readFileSync } from 'node:fs';

/**
 * How much CPU *other* processes took while the bench ran: the machine's busy time from /proc/stat
 * minus the time of this process tree (the bench, its peers' processes, the pipeline children; their
 * reaped children's time moves into the parent's cutime/cstime, so none is lost or counted twice).
 * Sampled once a second. /proc/loadavg would not do: it counts runnable tasks (ours included, and
 * the damped 1-minute average lags a burst by a minute), so it cannot say whose CPU it was.
 */
export interface LoadSample {
  atMs: number;
  /** Cores other processes kept busy over the last interval (0..cpus). */
  otherCores: number;
  /** Cores this process tree used. */
  ownCores: number;
}

export interface LoadSummary {
  /** Where the figure comes from: see docs/benchmarks.md. */
  source: '/proc/stat minus this process tree';
  meanCores: number;
  maxCores: number;
  samples: number;
}

/** Jiffies per second (USER_HZ): 100 on every Linux the bench runs on. */
const CLK_TCK = 100;

/** user + nice + system + irq + softirq of the aggregate `cpu` line (idle, iowait and steal are not work). */
export function busyJiffies(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no aggregate cpu line');
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return user + nice + system + irq + softirq;
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

/** Cores used by others and by us between two readings. */
export function coresBetween(
  a: { atMs: number; busy: number; own: number },
  b: { atMs: number; busy: number; own: number },
): { otherCores: number; ownCores: number } {
  const seconds = (b.atMs - a.atMs) / 1000;
  if (seconds <= 0) return { otherCores: 0, ownCores: 0 };
  const own = Math.max(0, b.own - a.own) / CLK_TCK / seconds;
  const busy = Math.max(0, b.busy - a.busy) / CLK_TCK / seconds;
  return { otherCores: Math.max(0, busy - own), ownCores: own };
}

/** Samples every `intervalMs` until stopped; `summary(from, to)` for one row's run. */
export class OtherCpuSampler {
  private readonly samples: LoadSample[] = [];
  private last: { atMs: number; busy: number; own: number } | undefined;
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
    const mean = inside.reduce((n, s) => n + s.otherCores, 0) / inside.length;
    const max = Math.max(...inside.map((s) => s.otherCores));
    return {
      source: '/proc/stat minus this process tree',
      meanCores: Math.round(mean * 100) / 100,
      maxCores: Math.round(max * 100) / 100,
      samples: inside.length,
    };
  }

  private reading() {
    return { atMs: Date.now(), busy: busyJiffies(read('/proc/stat') ?? ''), own: treeJiffies() };
  }

  private sample(): void {
    const now = this.reading();
    if (this.last) this.samples.push({ atMs: now.atMs, ...coresBetween(this.last, now) });
    this.last = now;
  }
}

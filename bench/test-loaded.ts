// `npm run test:loaded [-- VITEST_ARGS]`: the whole suite (`npm test`) with two CPU-bound processes
// beside it, as on a shared CI machine; with arguments, `vitest run VITEST_ARGS` instead. The busy
// processes are this script's children and are stopped (by their pids) when the suite ends, fails or
// is interrupted. Prints the suite's exit code, its time, the load average before and after, and where
// the machine's CPU went meanwhile (the suite, the busy processes, anyone else, the host's steal).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { busyJiffies, coresOver, processJiffies, stealJiffies } from './cpu-load.ts';

const BURNERS = 2;
const args = process.argv.slice(2);

const burners: ChildProcess[] = Array.from({ length: BURNERS }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
const stopBurners = () => {
  for (const b of burners) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
};
let suite: ChildProcess | undefined;
process.on('exit', stopBurners);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopBurners();
    // The suite runs in a process group of its own (npm, vitest and its workers): stop all of it.
    if (suite?.pid !== undefined && suite.exitCode === null) {
      try {
        process.kill(-suite.pid, signal);
      } catch {
        // already gone
      }
    }
    process.exit(130);
  });
}

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
const [command, commandArgs] =
  args.length > 0
    ? [process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...args]]
    : ['npm', ['test']];
const label = args.length > 0 ? `vitest run ${args.join(' ')}` : 'npm test';
console.error(
  `test:loaded: ${label} beside ${BURNERS} CPU-bound processes (pids ${burners.map((b) => b.pid).join(', ')}); load average ${load()}`,
);
const started = Date.now();
const before = cpuReading();
const code = await new Promise<number>((done) => {
  suite = spawn(command, commandArgs as string[], { stdio: 'inherit', detached: true });
  suite.once('error', () => done(1));
  suite.once('close', (c) => done(c ?? 1));
});
const after = cpuReading();
stopBurners();
const seconds = (Date.now() - started) / 1000;
console.error(
  `test:loaded: ${label} exited ${code} after ${seconds.toFixed(0)} s with ${BURNERS} CPU-bound processes beside it; load average ${load()}`,
);
if (before && after) console.error(`test:loaded: ${cpuShares(before, after, seconds)}`);
process.exitCode = code;

interface CpuReading {
  busy: number;
  steal: number;
  /** This process with its reaped children (the suite, once it has ended) and the live busy processes. */
  own: number;
  burners: number;
}

function cpuReading(): CpuReading | undefined {
  try {
    const stat = readFileSync('/proc/stat', 'utf8');
    const burnerJiffies = burners.reduce(
      (n, b) => n + processJiffies(readFileSync(`/proc/${b.pid}/stat`, 'utf8')),
      0,
    );
    return {
      busy: busyJiffies(stat),
      steal: stealJiffies(stat),
      own: processJiffies(readFileSync('/proc/self/stat', 'utf8')),
      burners: burnerJiffies,
    };
  } catch {
    return undefined; // no /proc (not Linux): the time and load average still say something
  }
}

/** Mean cores over the run: the suite (our reaped children), the busy processes, everyone else, steal. */
function cpuShares(a: CpuReading, b: CpuReading, seconds: number): string {
  const cores = (jiffies: number) => coresOver(jiffies, seconds);
  const burners = cores(b.burners - a.burners);
  const suite = cores(b.own - a.own);
  const others = cores(b.busy - a.busy) - suite - burners;
  const f = (n: number) => n.toFixed(2);
  return (
    `mean cores over the run: the suite ${f(suite)}, the ${BURNERS} busy processes ${f(burners)}, ` +
    `other processes ${f(Math.max(0, others))}, stolen by the host ${f(cores(b.steal - a.steal))}`
  );
}

// `npm run test:loaded [-- VITEST_ARGS]`: the whole suite (`npm test`) with two CPU-bound processes
// beside it, as on a shared CI machine; with arguments, `vitest run VITEST_ARGS` instead. The busy
// processes are this script's children and are stopped (by their pids) when the suite ends, fails or
// is interrupted. Prints the suite's exit code, its time and the load average before and after.
import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';

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
const code = await new Promise<number>((done) => {
  suite = spawn(command, commandArgs as string[], { stdio: 'inherit', detached: true });
  suite.once('error', () => done(1));
  suite.once('close', (c) => done(c ?? 1));
});
stopBurners();
console.error(
  `test:loaded: ${label} exited ${code} after ${((Date.now() - started) / 1000).toFixed(0)} s with ${BURNERS} CPU-bound processes beside it; load average ${load()}`,
);
process.exitCode = code;

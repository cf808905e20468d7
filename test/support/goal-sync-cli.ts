import { spawn } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'goal-sync.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `goal-sync` as a user would; sends one SIGINT as soon as `interruptWhen` says so. `timeoutMs`
 * (default 280 s) is a hang guard: the child is killed (exit 137) if it has not ended by then.
 */
export function goalSync(
  args: string[],
  opts: { interruptWhen?: () => Promise<boolean>; timeoutMs?: number } = {},
) {
  return new Promise<CliRun>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 280_000);
    const when = opts.interruptWhen;
    // One check at a time: under load a check (a file read) outlasts the 25 ms tick, and two checks in
    // flight that both pass would send two SIGINTs, the second of which means "exit at once".
    let checking = false;
    let sent = false;
    const poll = when
      ? setInterval(async () => {
          if (checking || sent) return;
          checking = true;
          try {
            if (await when()) {
              sent = true;
              clearInterval(poll);
              child.kill('SIGINT');
            }
          } finally {
            checking = false;
          }
        }, 25)
      : undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      clearInterval(poll);
      resolve({ code: code ?? (signal ? 128 + 9 : 1), stdout, stderr });
    });
  });
}

import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeControl } from '#core/source/index.ts';
import { UsageError } from './options.ts';

/**
 * One process per state dir. Two runs on one dir share its dynalite files, IdP grants and HCM state;
 * the second used to die in dynalite with a stack trace. The lock file names the process holding it,
 * so the refusal can say which; a lock whose process is gone (kill -9, a crash) is taken over.
 */
export const LOCK_FILE = 'goal-sync.lock';

interface LockBody {
  pid: number;
  startedAt: string;
  token: string;
}

export interface StateLock {
  release(): void;
}

export async function lockStateDir(stateDir: string, note: (line: string) => void): Promise<StateLock> {
  const path = join(stateDir, LOCK_FILE);
  const body: LockBody = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      await file.writeFile(`${JSON.stringify(body)}\n`);
      await file.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const holder = await readLock(path);
    if (holder && alive(holder.pid)) {
      throw new UsageError(
        `--state-dir ${escapeControl(stateDir)} is in use by process ${holder.pid} (since ${holder.startedAt}); wait for it to end or stop it (kill ${holder.pid}), or use another --state-dir`,
        false,
      );
    }
    note(
      `--state-dir ${stateDir}: taking over the lock of process ${holder?.pid ?? '(unreadable)'}, which is gone`,
    );
    await unlink(path).catch(() => undefined);
  }
  // Synchronous, so it also runs on process.exit (the naive job's Ctrl-C, a crash-after exit).
  const release = (): void => {
    try {
      const now = JSON.parse(readFileSync(path, 'utf8')) as LockBody;
      if (now.token === body.token) unlinkSync(path);
    } catch {
      // Gone already, or taken over: nothing of ours to remove.
    }
  };
  process.once('exit', release);
  return {
    release() {
      process.off('exit', release);
      release();
    },
  };
}

async function readLock(path: string): Promise<LockBody | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockBody>;
    return typeof parsed.pid === 'number' ? (parsed as LockBody) : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Can this process create files in `dir`? Tried, not asked: access(W_OK) says yes to root on a
 * read-only mount, and the answer that matters is whether the write will work later.
 */
export async function probeWritable(dir: string): Promise<string | undefined> {
  const probe = join(dir, `.goal-sync-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = await open(probe, 'wx', 0o600);
    await file.close();
    await unlink(probe);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

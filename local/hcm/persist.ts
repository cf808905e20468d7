import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { STORE_SCHEMA, type StoreChange, type StoredGoal, type StoreSnapshot } from './store.ts';

export const STATE_FILE_NAME = 'hcm-sim-state.json';
export const JOURNAL_FILE_NAME = 'hcm-sim-journal.jsonl';

type JournalLine = { u: number; g?: StoredGoal; n: number };

/**
 * Durable goal store for the HCM simulator, as a remote system keeps it: every change is appended to a
 * journal (one JSON line, written with a synchronous write before the HTTP response goes out), so a
 * commit the client saw acknowledged survives any end of the process, SIGKILL included. Opening replays
 * snapshot + journal and compacts them into a new snapshot (temp file + rename, never torn); close()
 * compacts again. A torn last line (the process died mid-write) was never acknowledged and is dropped.
 * Writes reach the OS, not the disk platter: what a simulator needs is to outlive its process.
 */
export class StatePersister {
  private readonly file: string;
  private readonly journalFile: string;
  private fd: number | undefined;
  private tmpCounter = 0;

  constructor(
    private readonly stateDir: string,
    private readonly snapshot: () => StoreSnapshot,
  ) {
    mkdirSync(stateDir, { recursive: true });
    this.file = join(stateDir, STATE_FILE_NAME);
    this.journalFile = join(stateDir, JOURNAL_FILE_NAME);
  }

  /** The saved state (snapshot plus journal), or undefined when none exists yet. */
  load(): StoreSnapshot | undefined {
    const base = readJson(this.file);
    const lines = existsSync(this.journalFile) ? readFileSync(this.journalFile, 'utf8').split('\n') : [];
    if (!base && lines.every((l) => l.trim() === '')) return undefined;
    if (base && base.schema !== STORE_SCHEMA) return base; // GoalStore.load says what to do about it
    const goals = new Map<number, StoredGoal>((base?.goals ?? []).map((g) => [g.goal.GoalId, g] as const));
    let nextGoalId = base?.nextGoalId ?? 0;
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let entry: JournalLine;
      try {
        entry = JSON.parse(line) as JournalLine;
      } catch (err) {
        if (i >= lines.length - 2) break; // the torn tail of a write the process did not survive
        throw new Error(`HCM simulator journal ${this.journalFile} line ${i + 1} is corrupt`, { cause: err });
      }
      if (entry.g) goals.set(entry.u, entry.g);
      else goals.delete(entry.u);
      nextGoalId = Math.max(nextGoalId, entry.n);
    }
    return { schema: STORE_SCHEMA, nextGoalId, goals: [...goals.values()] };
  }

  /** Starts journaling; call after the store holds load()'s state. Compacts what was loaded. */
  open(): void {
    this.compact();
    this.fd = openSync(this.journalFile, 'a', 0o600);
  }

  /** Appends one change; returns once the OS has it (before the simulator answers the request). */
  record(change: StoreChange): void {
    if (this.fd === undefined) return;
    const line: JournalLine = change.next
      ? { u: change.goalId, g: change.next, n: change.nextGoalId }
      : { u: change.goalId, n: change.nextGoalId };
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }

  /** Everything is already durable; kept for callers that flush before they exit. */
  async flush(): Promise<void> {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  flushSync(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  /** Compacts the journal into the snapshot and stops journaling. */
  async close(): Promise<void> {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    this.compact();
  }

  private compact(): void {
    const tmp = join(this.stateDir, `${STATE_FILE_NAME}.${process.pid}.${++this.tmpCounter}.tmp`);
    try {
      writeFileSync(tmp, JSON.stringify(this.snapshot()));
      renameSync(tmp, this.file);
    } finally {
      rmSync(tmp, { force: true });
    }
    // The snapshot now holds every journaled change: start the journal afresh.
    writeFileSync(this.journalFile, '');
  }
}

function readJson(file: string): StoreSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StoreSnapshot;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

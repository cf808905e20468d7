import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreSnapshot } from './store.ts';

export const STATE_FILE_NAME = 'hcm-sim-state.json';

/**
 * Write-through of the goal store to one JSON file, debounced: a burst of writes costs one file write
 * per `debounceMs` (or 4x the last serialization time, if longer). Each write goes to a temp file and
 * is renamed over the state file, so a crash mid-write leaves the previous complete state, never a
 * torn one. close(), flush() and process exit (including process.exit()) write everything; only a
 * hard kill (SIGKILL) loses the changes of the last debounce window.
 */
export class StatePersister {
  private readonly file: string;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private tmpCounter = 0;
  private lastWriteMs = 0;
  private readonly exitHook = () => this.flushSync();

  constructor(
    stateDir: string,
    private readonly snapshot: () => StoreSnapshot,
    private readonly debounceMs = 250,
  ) {
    mkdirSync(stateDir, { recursive: true });
    this.file = join(stateDir, STATE_FILE_NAME);
    // A process that exits without close() (tests that forget, Ctrl-C handlers calling exit) still saves.
    process.once('exit', this.exitHook);
  }

  /** The saved state, or undefined when none exists yet. */
  load(): StoreSnapshot | undefined {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as StoreSnapshot;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  markDirty(): void {
    this.dirty = true;
    if (!this.timer && !this.inFlight) this.timer = this.schedule();
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.inFlight) await this.inFlight;
    if (this.dirty) await this.writeNow();
  }

  /** Synchronous final write: safe to call from an 'exit' handler. */
  flushSync(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    const tmp = this.tmpName();
    writeFileSync(tmp, JSON.stringify(this.snapshot()));
    renameSync(tmp, this.file);
  }

  async close(): Promise<void> {
    await this.flush();
    process.removeListener('exit', this.exitHook);
  }

  private writeNow(): Promise<void> {
    this.timer = undefined;
    this.dirty = false;
    const tmp = this.tmpName();
    const started = performance.now();
    const text = JSON.stringify(this.snapshot());
    this.lastWriteMs = performance.now() - started;
    const write = (async () => {
      await writeFile(tmp, text);
      await rename(tmp, this.file);
    })().catch((err: unknown) => {
      // Keep serving; the next change (or close) retries the write.
      this.dirty = true;
      process.emitWarning(`HCM simulator could not save its state: ${(err as Error).message}`);
    });
    this.inFlight = write.finally(() => {
      this.inFlight = undefined;
      // Changes that arrived during the write get their own (debounced) write.
      if (this.dirty && !this.timer) this.timer = this.schedule();
    });
    return this.inFlight;
  }

  private schedule(): NodeJS.Timeout {
    // Serializing 50,000 goals takes ~60 ms of blocked event loop: waiting at least 4x that long
    // between writes keeps persistence under ~20% of the simulator's time under a write storm.
    const delay = Math.max(this.debounceMs, this.lastWriteMs * 4);
    // unref: a pending save must not keep a finished process alive; the exit hook saves instead.
    return setTimeout(() => void this.writeNow(), delay).unref();
  }

  private tmpName(): string {
    return `${this.file}.${process.pid}.${++this.tmpCounter}.tmp`;
  }
}

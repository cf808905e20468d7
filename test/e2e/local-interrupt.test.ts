import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interruptAndResume, seeded } from '../support/interrupt-run.ts';

// Ctrl-C at a seeded random point of a local run, then the printed resume: every valid goal exactly
// once in the simulator's durable state. `npm run bench:interrupt` runs the same check for 50 seeds.
// Two real runs per test (~28 s alone); beside other suites on 2 cores one took over the default 60 s.
describe('goal-sync local: Ctrl-C, then resume', { timeout: 180_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'goal-sync-int-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([7, 21])(
    'seed %i: exit 130 with the resume command; after the resume, each valid goal once',
    async (seed) => {
      const stateDir = join(dir, `s${seed}`);
      const interruptAtWrites = 1 + Math.floor(seeded(seed)() * 250);
      const r = await interruptAndResume({ stateDir, seed, goals: 300, interruptAtWrites });
      expect(r.interruptedCode).toBe(130);
      expect(r.resumeCommandPrinted).toBe(true);
      expect(r.resumedCode, JSON.stringify(r.resumed.error)).toBe(0);
      expect(r.resumed.status).toBe('completed');
      expect(r.missing).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.stored).toBe(r.valid);
      // The first execution wrote at least up to the interrupt point, and the resume only the rest.
      expect(r.written.first).toBeGreaterThanOrEqual(interruptAtWrites);
      expect(r.written.first + r.written.resumed).toBe(r.valid);
      // No temp file is left behind in the state dir.
      const files = await readdir(stateDir, { recursive: true });
      expect(files.filter((f) => String(f).endsWith('.tmp'))).toEqual([]);
    },
  );
});

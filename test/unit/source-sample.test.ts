import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { GoalRecord } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import { run } from '../../cli/commands/sample.ts';
import { GOAL_PLANS } from '../../local/hcm/seed.ts';
import { generateGoals, type SampleOptions, writeSampleFile } from '../../local/sample/generate.ts';

const dir = mkdtempSync(join(tmpdir(), 'source-sample-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function lines(o: SampleOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const line of generateGoals(o)) out.push(line);
  return out;
}

async function readBack(path: string, format: 'jsonl' | 'csv') {
  const source = openGoalSource({ uri: path, format });
  const plan = await source.plan(500);
  const records: GoalRecord[] = [];
  for (const chunk of plan.chunks) {
    for await (const e of source.readChunk(chunk)) if ('record' in e) records.push(e.record);
  }
  return { plan, records };
}

describe('sample generator', () => {
  it('is deterministic per seed, and N goals are a prefix of more goals', async () => {
    const a = await lines({ goals: 200, seed: 42, invalidRate: 0.1 });
    expect(await lines({ goals: 200, seed: 42, invalidRate: 0.1 })).toEqual(a);
    expect(await lines({ goals: 200, seed: 43, invalidRate: 0.1 })).not.toEqual(a);
    expect((await lines({ goals: 350, seed: 42, invalidRate: 0.1 })).slice(0, 200)).toEqual(a);
  });

  it('writes valid goals the source accepts: grouped by person, unique natural keys, dates in the period', async () => {
    const path = join(dir, 'valid.jsonl');
    expect(await writeSampleFile(path, { goals: 500, seed: 7 })).toEqual({
      lines: 500,
      invalid: 0,
      changed: 0,
    });
    const { plan, records } = await readBack(path, 'jsonl');
    expect(plan).toMatchObject({ totalRecords: 500, validRecords: 500, invalid: [] });
    // Consecutive lines per person, 3 to 7 goals each (the last person may be cut short).
    const runs: number[] = [];
    records.forEach((r, i) => {
      if (i > 0 && records[i - 1]!.personNumber === r.personNumber) runs[runs.length - 1]! += 1;
      else runs.push(1);
    });
    expect(new Set(records.map((r) => r.personNumber)).size).toBe(runs.length);
    expect(runs.slice(0, -1).every((n) => n >= 3 && n <= 7)).toBe(true);
    for (const r of records) {
      const plan = GOAL_PLANS.find((p) => p.GoalPlanId === r.goalPlanId)!;
      expect(r.reviewPeriodId).toBe(plan.ReviewPeriodId);
      expect(r.startDate >= plan.StartDate && r.targetCompletionDate <= plan.EndDate).toBe(true);
    }
  });

  it('makes about invalidRate of the records invalid, in several ways, each one caught with its line', async () => {
    for (const format of ['jsonl', 'csv'] as const) {
      const path = join(dir, `invalid.${format}`);
      const summary = await writeSampleFile(path, { goals: 1000, seed: 9, invalidRate: 0.08, format });
      expect(summary.invalid).toBeGreaterThan(50);
      expect(summary.invalid).toBeLessThan(110);
      const { plan } = await readBack(path, format);
      expect(plan.invalid).toHaveLength(summary.invalid);
      expect(plan.validRecords).toBe(1000 - summary.invalid);
      const kinds = new Set(plan.invalid.map((i) => i.reason.split(':')[0]));
      expect(kinds).toEqual(
        new Set([
          'startDate',
          'goalName',
          'weight',
          'status',
          'targetCompletionDate',
          `invalid ${format === 'csv' ? 'CSV' : 'JSON'}`,
        ]),
      );
    }
  });

  it('wraps around a small person set without repeating a natural key', async () => {
    const path = join(dir, 'few-persons.csv');
    await writeSampleFile(path, { goals: 300, seed: 3, persons: 10, format: 'csv' });
    const { plan, records } = await readBack(path, 'csv');
    expect(plan.invalid).toEqual([]);
    expect(new Set(records.map((r) => r.personNumber)).size).toBe(10);
  });

  it('changes a deterministic subset of valid goals under the same keys', async () => {
    const base = await lines({ goals: 400, seed: 11, invalidRate: 0.05 });
    const changed = await lines({ goals: 400, seed: 11, invalidRate: 0.05, changes: { rate: 0.2, seed: 1 } });
    expect(await lines({ goals: 400, seed: 11, invalidRate: 0.05, changes: { rate: 0.2, seed: 1 } })).toEqual(
      changed,
    );
    const differing = base.flatMap((line, i) => (line === changed[i] ? [] : [i]));
    expect(differing.length).toBeGreaterThan(50);
    expect(differing.length).toBeLessThan(110);
    for (const i of differing) {
      const before = JSON.parse(base[i]!) as GoalRecord;
      const after = JSON.parse(changed[i]!) as GoalRecord;
      expect(after.externalKey).toBe(before.externalKey);
      expect(after.goalName).toBe(before.goalName);
      expect(after.description).toMatch(/Revised/);
    }
  });

  it('CLI: writes the file, derives the format from --out, and rejects bad flags', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    const out = join(dir, 'cli.csv');
    expect(await run(['--goals', '25', '--seed', '5', '--invalid-rate', '0', '--out', out])).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^externalKey,personNumber,goalName,/);
    expect(text.trimEnd().split('\n')).toHaveLength(26);
    expect(await run(['--invalid-rate', '0.1'])).toBe(2);
    expect(await run(['--goals', 'many'])).toBe(2);
    expect(await run(['--goals', '5', '--format', 'xml'])).toBe(2);
    expect(stderr.mock.calls[0]![0]).toMatch(/wrote 25 goals \(0 invalid, 0 changed\)/);
    stderr.mockRestore();
  });
});

// What plan-sync's plan-wide read costs in memory when HCM already holds the run's goals (a re-sync or
// a verify run): the listing is grouped by natural key and sliced per chunk before anything is written,
// so plan-sync holds every listed goal at once. Serves the listing from generated pages (the goals the
// sample source describes, shaped as Oracle returns them) and samples the heap while the index is built.
//   NODE_OPTIONS=--expose-gc node bin/run-ts.js bench/plan-index-memory.ts [--goals 50000,200000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { HcmGoals, PlanGoalsPage } from '#core/hcm/index.ts';
import { hcmResources, toGoalPayload } from '#core/hcm/index.ts';
import { type GoalRecord, openGoalSource } from '#core/source/index.ts';
import { buildGoalIndex } from '#core/sync/index.ts';
import { writeSampleFile } from '../local/sample/generate.ts';

const { values } = parseArgs({ options: { goals: { type: 'string' } } });
const sizes = (values.goals ?? '50000,200000').split(',').map(Number);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with NODE_OPTIONS=--expose-gc');

async function measure(goals: number) {
  const dir = await mkdtemp(join(tmpdir(), 'index-mem-'));
  try {
    const uri = join(dir, 'goals.jsonl');
    await writeSampleFile(uri, { goals, invalidRate: 0, seed: 3 });
    const source = openGoalSource({ uri, format: 'jsonl' });
    const plan = await source.plan(100);
    // The server side: records per plan, turned into an Oracle page only when asked for.
    const byPlan = new Map<number, GoalRecord[]>();
    for (const chunk of plan.chunks) {
      for await (const e of source.readChunk(chunk)) {
        if (!('record' in e)) continue;
        const list = byPlan.get(e.record.goalPlanId) ?? [];
        list.push(e.record);
        byPlan.set(e.record.goalPlanId, list);
      }
    }
    let goalId = 1;
    const personId = (personNumber: string) => 300_000_000_000_000 + Number(personNumber.replace(/\D/g, ''));
    const ids = new Map<GoalRecord, number>();
    const page = (planId: number, offset: number, limit: number): PlanGoalsPage => {
      const all = byPlan.get(planId) ?? [];
      const items = all.slice(offset, offset + limit).map((r) => {
        const id = ids.get(r) ?? goalId++;
        ids.set(r, id);
        const uniqId = `00020000000EACED00057708${id.toString(16).padStart(16, '0')}`;
        return {
          ...toGoalPayload(r),
          ref: { goalPlanId: planId, path: `${hcmResources.planGoals(planId)}/${uniqId}`, uniqId },
          GoalId: id,
          PersonId: personId(r.personNumber),
          AssignmentId: personId(r.personNumber) + 100_000_000,
          etag: `"ACED0005737200136A6176612E7574696C2E41727261794C6973${id}"`,
        };
      });
      // Through JSON, as the client parses a response: the heap layout of parsed objects.
      return JSON.parse(
        JSON.stringify({ items, hasMore: offset + limit < all.length, totalResults: all.length }),
      ) as PlanGoalsPage;
    };
    const hcm = {
      listPlanGoals: async (planId: number, q: { offset: number; limit: number }) =>
        page(planId, q.offset, q.limit),
      // Every worker of the plan at once (one page): the read's memory is the goals'.
      listPlanAssignees: async (planId: number) => {
        const persons = [...new Set((byPlan.get(planId) ?? []).map((r) => r.personNumber))];
        const items = persons.map((p) => ({
          PersonId: personId(p),
          PersonNumber: p,
          AssignmentId: personId(p) + 100_000_000,
        }));
        return { items, read: items.length, hasMore: false };
      },
    } as unknown as HcmGoals;

    gc?.();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    }, 20);
    let sliceBytes = 0;
    let retained = 0;
    const started = Date.now();
    const summary = await buildGoalIndex(
      {
        runId: 'mem',
        attempt: 1,
        chunks: plan.chunks,
        goalPlanIds: plan.goalPlanIds ?? [],
        validRecords: plan.validRecords,
        verify: false,
      },
      {
        hcm,
        source: openGoalSource({ uri, format: 'jsonl' }),
        store: {
          write: async (_run, _attempt, _manifest, slices) => {
            const m = process.memoryUsage();
            gc?.();
            // What the index holds when it is written: every listed goal, in its chunk's slice.
            retained = process.memoryUsage().heapUsed - before.heapUsed;
            peakHeap = Math.max(peakHeap, m.heapUsed);
            peakRss = Math.max(peakRss, m.rss);
            for (const goalsOfChunk of slices.values()) sliceBytes += JSON.stringify(goalsOfChunk).length;
          },
          readManifest: async () => undefined,
          readSlice: async () => ({ goals: [], assignees: [] }),
        },
        now: Date.now,
      },
    );
    clearInterval(sampler);
    const mb = (b: number) => Math.round(b / 1e5) / 10;
    return {
      goals,
      listed: summary.goals,
      requests: summary.requests,
      ms: Date.now() - started,
      heapGrowthMb: mb(peakHeap - before.heapUsed),
      retainedMb: mb(retained),
      retainedBytesPerGoal: Math.round(retained / Math.max(1, summary.goals)),
      rssGrowthMb: mb(peakRss - before.rss),
      sliceJsonMb: mb(sliceBytes),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const n of sizes) process.stdout.write(`${JSON.stringify(await measure(n))}\n`);

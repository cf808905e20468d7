import {
  committedIds,
  type HdlPartStore,
  type LedgerItem,
  needsReconcile,
  type RecordStore,
} from '#core/checkpoint/index.ts';
import type { GoalMapping, HcmGoals } from '#core/hcm/index.ts';
import { contentHash, DEFAULT_GOAL_MAPPING } from '#core/hcm/index.ts';
import { buildHdlFiles, type HdlDataSets } from '#core/hdl/index.ts';
import type { GoalRecord, GoalSource } from '#core/source/index.ts';
import type { IndexObjects } from './goal-index-objects.ts';
import { type HdlPlan, hdlEntries } from './hdl-entries.ts';
import { peopleOf, planGoalKey, planPeopleName, readPlanGoalKeys } from './hdl-plan-read.ts';
import { readRunAssignees } from './run-assignees.ts';

/** What the HDL branch knows of its run (the plan's output, minus the chunk list). */
export interface HdlRun {
  runId: string;
  connectionId: string;
  attempt: number;
  chunkSize: number;
}

/** Per record in a part: what the outcome step needs to settle it without reading the source again. */
export interface HdlPartRecord {
  externalKey: string;
  chunkIndex: number;
  contentHash: string;
  personNumber: string;
  goalName: string;
  /** The ledger already held a goal for it (under our source key): a load is an update. */
  update: boolean;
}

export interface HdlBuildDeps {
  source: GoalSource;
  records: RecordStore;
  parts: HdlPartStore;
  objects: IndexObjects;
  hcm: HcmGoals;
  dataSets: HdlDataSets;
}

export interface HdlBuildOptions {
  sourceSystemOwner: string;
  mapping?: GoalMapping;
  recordsPerFile?: number;
}

export interface HdlBuildSummary {
  parts: number;
  /** Records in the parts (to load through HDL). */
  hdlRecords: number;
  /** Records left to the REST Map: goals HCM holds without our source key, pending writes, record errors. */
  restRecords: number;
  /** Records the ledger says HCM already holds with this content. */
  unchanged: number;
  /** True when the parts came from an earlier invocation of the run (a retry or a resume). */
  reused: boolean;
}

export type HdlRoute = 'hdl' | 'rest' | 'unchanged';

/**
 * Which path a record takes inside the HDL branch (issue 24 item 3). HDL may only take a record whose
 * goal HCM holds under our source key (the ledger says it was loaded by HDL) or that has no goal yet;
 * a goal created through REST or the UI has no source key, and a MERGE would create its twin, so it
 * goes through the REST Map, as does a record with a write that may still commit (reconciled there).
 */
export function routeOf(
  hash: string,
  ledger: LedgerItem | undefined,
  existsInHcm: boolean,
  sourceSystemOwner: string,
): HdlRoute {
  if (needsReconcile(ledger)) return 'rest';
  const ids = committedIds(ledger);
  if (ids && ledger?.contentHash === hash) return 'unchanged';
  if (ids) return ledger?.hdlSourceOwner === sourceSystemOwner ? 'hdl' : 'rest';
  return existsInHcm ? 'rest' : 'hdl';
}

export const hdlObjectKey = (runId: string, name: string, ext: 'zip' | 'json') =>
  `runs/${runId}/hdl/${name.replace(/\.zip$/, '')}.${ext}`;

/**
 * Builds a run's Goal.dat parts once: reads the source, routes each record (routeOf), resolves plan
 * names and the run's workers' assignments in bulk (run-assignees.ts), writes each zip and its record list to the object
 * store and a `HDLPART#` item per part. A run that already has parts keeps them: a resume submits or
 * polls the same data sets (their names are deterministic from run id + part).
 */
export async function buildHdlParts(
  run: HdlRun,
  deps: HdlBuildDeps,
  options: HdlBuildOptions,
): Promise<HdlBuildSummary> {
  const existing = await deps.parts.list(run.runId);
  if (existing.length > 0) {
    const hdlRecords = existing.reduce((n, p) => n + p.records, 0);
    return { parts: existing.length, hdlRecords, restRecords: 0, unchanged: 0, reused: true };
  }
  const mapping = options.mapping ?? DEFAULT_GOAL_MAPPING;
  const plan = await deps.source.plan(run.chunkSize);
  const valid: Array<{ record: GoalRecord; chunkIndex: number; hash: string }> = [];
  for (const chunk of plan.chunks) {
    for await (const entry of deps.source.readChunk(chunk)) {
      if ('record' in entry)
        valid.push({
          record: entry.record,
          chunkIndex: chunk.index,
          hash: contentHash(entry.record, mapping),
        });
    }
  }
  const states = await deps.records.loadStates(valid.map((v) => v.record.externalKey));
  const planIds = [...new Set(valid.map((v) => v.record.goalPlanId))].sort((a, b) => a - b);
  const plans = new Map<number, HdlPlan>();
  const existingKeys = new Set<string>();
  const counter = { requests: 0 };
  for (const planId of planIds) {
    // Only the run's workers: their goals are the ones the key check and the record step look for.
    const workers = valid.filter((v) => v.record.goalPlanId === planId).map((v) => v.record.personNumber);
    const assignees = await readRunAssignees(deps.hcm, planId, workers, counter);
    plans.set(planId, { goalPlanName: await deps.dataSets.goalPlanName(planId), assignees });
    // The record step names loaded goals' workers from this instead of reading the assignees again.
    await deps.objects.put(hdlObjectKey(run.runId, planPeopleName(planId), 'json'), peopleOf(assignees));
    for (const key of await readPlanGoalKeys(deps.hcm, planId, assignees)) existingKeys.add(key);
  }
  let unchanged = 0;
  const toLoad: typeof valid = [];
  for (const v of valid) {
    const ledger = states.get(v.record.externalKey)?.ledger;
    const exists = existingKeys.has(planGoalKey(v.record.personNumber, v.record.goalName));
    const route = routeOf(v.hash, ledger, exists, options.sourceSystemOwner);
    if (route === 'unchanged') unchanged += 1;
    else if (route === 'hdl') toLoad.push(v);
  }
  // Record errors (worker not on the plan, no code) stay with the REST Map, which fails them with the same reason.
  const { entries } = hdlEntries(
    toLoad.map((v) => v.record),
    plans,
  );
  const { files } = buildHdlFiles(entries, {
    runId: run.runId,
    sourceSystemOwner: options.sourceSystemOwner,
    mapping,
    ...(options.recordsPerFile ? { recordsPerFile: options.recordsPerFile } : {}),
  });
  const byKey = new Map(toLoad.map((v) => [v.record.externalKey, v]));
  let hdlRecords = 0;
  for (const file of files) {
    const list: HdlPartRecord[] = file.externalKeys.map((key) => {
      const v = byKey.get(key)!;
      return {
        externalKey: key,
        chunkIndex: v.chunkIndex,
        contentHash: v.hash,
        personNumber: v.record.personNumber,
        goalName: v.record.goalName,
        update: committedIds(states.get(key)?.ledger) !== undefined,
      };
    });
    hdlRecords += list.length;
    await deps.objects.put(
      hdlObjectKey(run.runId, file.name, 'zip'),
      Buffer.from(file.zip).toString('base64'),
    );
    await deps.objects.put(hdlObjectKey(run.runId, file.name, 'json'), JSON.stringify(list));
    // The item last: a part listed is a part whose file and record list are stored.
    await deps.parts.putBuilt(run.runId, {
      part: file.part,
      name: file.name,
      goalPlanId: file.goalPlanId,
      records: list.length,
    });
  }
  return {
    parts: files.length,
    hdlRecords,
    restRecords: valid.length - unchanged - hdlRecords,
    unchanged,
    reused: false,
  };
}

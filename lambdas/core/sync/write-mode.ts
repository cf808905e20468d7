import { committedIds, type HdlPartStore, needsReconcile, type RecordStore } from '#core/checkpoint/index.ts';
import { contentHash, DEFAULT_GOAL_MAPPING, type GoalMapping } from '#core/hcm/index.ts';
import type { GoalSource } from '#core/source/index.ts';
import { ConfigError } from '../errors.ts';
import type { RunEstimate } from './run-estimate.ts';

/** How a run writes (issue 24 item 4): asked per run (execution input, `--write-mode`). */
export type WriteMode = 'rest' | 'hdl' | 'auto';
/** The branch the state machine takes: chosen once per run by plan-sync. */
export type WritePath = 'rest' | 'hdl';

export const WRITE_MODES: readonly WriteMode[] = ['rest', 'hdl', 'auto'];
/** auto takes HDL above this many records to write (new or changed by the ledger at plan time). */
export const DEFAULT_HDL_THRESHOLD = 2_000;

export interface WriteChoice {
  writeMode: WritePath;
  /** What was asked, and the threshold auto compared with. */
  writeModeAsked: WriteMode;
  hdlThreshold: number;
  /** Records new or changed by the ledger, when auto had to count them. */
  recordsToWrite?: number;
  /**
   * The REST duration against the execution's time left (run-estimate.ts); absent without a way to
   * estimate (no ceiling configured) and for a run that keeps HDL parts it already has.
   */
  estimate?: RunEstimate;
}

export interface WriteChoiceDeps {
  /** HDL is configured (a SourceSystemOwner): without one, auto means REST and hdl is refused. */
  hdlConfigured: boolean;
  parts: HdlPartStore;
  records: RecordStore;
  source: GoalSource;
  mapping?: GoalMapping;
  /** The run's REST duration for a count of records to write; absent: no estimate. */
  estimate?: (recordsToWrite: number, counted: RunEstimate['counted']) => RunEstimate;
}

/**
 * The run's write path. A run that already has HDL parts keeps HDL (a resume polls its data sets,
 * never rewrites them through REST); `auto` counts the records to write only when the valid records
 * alone could exceed the threshold or would not fit in the execution's time left (then HDL, when
 * configured). A REST choice whose estimate does not fit is the caller's to refuse (plan-sync).
 */
export async function chooseWritePath(
  run: { runId: string; chunkSize: number; validRecords: number },
  asked: { writeMode?: WriteMode; hdlThreshold?: number },
  deps: WriteChoiceDeps,
): Promise<WriteChoice> {
  const writeModeAsked = asked.writeMode ?? 'auto';
  const hdlThreshold = asked.hdlThreshold ?? DEFAULT_HDL_THRESHOLD;
  const base = { writeModeAsked, hdlThreshold };
  if (writeModeAsked === 'hdl' && !deps.hdlConfigured)
    throw new ConfigError(
      'writeMode hdl needs the HDL source system owner: set hdlSourceSystemOwner (context) / --hdl-source-owner',
    );
  if (deps.hdlConfigured && (await deps.parts.list(run.runId)).length > 0)
    return { ...base, writeMode: 'hdl' };
  let recordsToWrite: number | undefined;
  const count = async () => {
    recordsToWrite ??= await countRecordsToWrite(run.chunkSize, deps);
    return recordsToWrite;
  };
  // The valid records bound the records to write: the ledger is read only when the bound would not fit.
  let estimate = deps.estimate?.(run.validRecords, 'bound');
  if (estimate?.fits === false && writeModeAsked !== 'hdl')
    estimate = deps.estimate?.(await count(), 'ledger');
  const choice = (writeMode: WritePath): WriteChoice => ({
    ...base,
    writeMode,
    ...(recordsToWrite === undefined ? {} : { recordsToWrite }),
    ...(estimate ? { estimate } : {}),
  });
  if (writeModeAsked !== 'auto' || !deps.hdlConfigured)
    return choice(writeModeAsked === 'hdl' ? 'hdl' : 'rest');
  // A run REST could not finish before the execution's timeout goes through HDL, whatever the threshold.
  if (estimate?.fits === false) return choice('hdl');
  if (run.validRecords <= hdlThreshold) return choice('rest');
  return choice((await count()) > hdlThreshold ? 'hdl' : 'rest');
}

/** Valid records whose ledger entry is missing, pending or holds other content. */
async function countRecordsToWrite(chunkSize: number, deps: WriteChoiceDeps): Promise<number> {
  const mapping = deps.mapping ?? DEFAULT_GOAL_MAPPING;
  let count = 0;
  for (const chunk of (await deps.source.plan(chunkSize)).chunks) {
    const batch: Array<{ key: string; hash: string }> = [];
    for await (const e of deps.source.readChunk(chunk))
      if ('record' in e) batch.push({ key: e.record.externalKey, hash: contentHash(e.record, mapping) });
    const states = await deps.records.loadStates(batch.map((b) => b.key));
    for (const b of batch) {
      const ledger = states.get(b.key)?.ledger;
      const same = committedIds(ledger) && ledger?.contentHash === b.hash && !needsReconcile(ledger);
      if (!same) count += 1;
    }
  }
  return count;
}

export function parseWriteMode(raw: unknown, where: string): WriteMode {
  const v = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (v === 'rest' || v === 'hdl' || v === 'auto') return v;
  throw new ConfigError(`${where}: writeMode must be rest, hdl or auto, not ${JSON.stringify(raw)}`);
}

export function parseHdlThreshold(raw: unknown, where: string): number {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new ConfigError(
      `${where}: hdlThreshold must be a whole number of records >= 0, not ${JSON.stringify(raw)}`,
    );
  return n;
}

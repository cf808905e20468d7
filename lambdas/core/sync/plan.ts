import type { ChunkStore, RunLease, RunTotals } from '#core/checkpoint/index.ts';
import { type RunStore, sourceChange } from '#core/checkpoint/index.ts';
import type { ChunkRef, GoalSource, SourceCopyStore, SourceRef } from '#core/source/index.ts';
import { ConfigError, RunNotFoundError, SourceChangedError } from '../errors.ts';
import type { GoalIndexSummary } from './goal-index.ts';

/** Step Functions' state payload limit, minus headroom for what the state machine adds around it. */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;
const PAYLOAD_BUDGET_BYTES = PAYLOAD_LIMIT_BYTES - 16 * 1024;

/**
 * The most chunks the inline Map's payload can carry: in the indexed mode an item is its index
 * ("123456," at most 7 bytes), and the Map's collected result (one index per iteration) is as big.
 */
export const PAYLOAD_CHUNK_LIMIT = Math.floor(PAYLOAD_BUDGET_BYTES / 7);

export const PLAN_DEFAULTS = {
  chunkSize: 100,
  /** Above this the chunk list goes into the payload as indexes only; workers read their range from DynamoDB. */
  maxInlineRefBytes: 96 * 1024,
  /**
   * The most chunks the inline Map may take (history and payload limits, see inlineChunkLimit and
   * PAYLOAD_CHUNK_LIMIT): 765. Runs above the map threshold (at most this) take the Distributed Map.
   */
  maxInlineChunks: Math.min(inlineChunkLimit(), PAYLOAD_CHUNK_LIMIT),
} as const;

/**
 * How many chunks an inline Map can take within Step Functions' 25,000-event history. An iteration
 * costs 11 events (MapIterationStarted/Succeeded, Task entered/scheduled/started/succeeded/exited,
 * Choice entered/exited, Succeed entered/exited); every extra pass (time ran out, a claim or an unclear
 * write to wait out) costs 9 more (Choice 2, Wait 2, Task 5), and a Retry 3. The margin assumes two
 * extra passes and one retry per chunk on average, and keeps 500 events for the states around the Map.
 */
export function inlineChunkLimit(extraPasses = 2, retries = 1): number {
  const perChunk = 11 + 9 * extraPasses + 3 * retries;
  return Math.floor((25_000 - 500) / perChunk);
}

export interface PlanInput {
  runId: string;
  source: SourceRef;
  connectionId: string;
  chunkSize?: number;
  /** The run must exist already (a resume): an unknown runId is refused, not started fresh. */
  resume?: boolean;
  /** The execution that plans this attempt; a late status-change event of an older one is ignored. */
  executionArn?: string;
  /**
   * Runs of more chunks take the Distributed Map (0: always). Can only lower the default
   * (PLAN_DEFAULTS.maxInlineChunks): a bigger inline Map would overrun the execution history.
   */
  mapThreshold?: number;
  /**
   * Verify pass: besides syncing, compare every goal the ledger calls written with HCM (the plan-wide
   * read) and write back what is missing or drifted. Needs the plan-wide read (PlanDeps.indexGoals).
   */
  verify?: boolean;
}

/** What the plan step hands the plan-wide read (goal-index.ts) once the run is planned. */
export interface IndexGoalsArgs {
  runId: string;
  connectionId: string;
  attempt: number;
  chunks: ChunkRef[];
  chunkSize: number;
  goalPlanIds: number[];
  validRecords: number;
  verify: boolean;
  source: GoalSource;
  totals: RunTotals;
}

/** What one Map iteration gets: references only, never goal bodies or tokens. */
export interface ChunkTask {
  runId: string;
  connectionId: string;
  source: SourceRef;
  attempt: number;
  /** The run generation of this plan's take of the run lease: every claim and write is fenced by it. */
  generation?: number;
  /** The execution's REST deadline (epoch ms, 0: none): a pass that starts later defers (continuation.ts). */
  restDeadline?: number;
  /** The range itself, or its index when the plan was too big to inline (read from `CHUNKREF#<index>`). */
  chunk: ChunkRef | number;
}

export type ChunkListMode = 'inline' | 'indexed' | 'manifest';
export type MapKind = 'inline' | 'distributed';

export interface PlanOutput {
  runId: string;
  connectionId: string;
  source: SourceRef;
  attempt: number;
  /**
   * The run generation this plan's take of the run lease made current (invariant 10); the chunk tasks
   * carry it. Absent only when planning without a lease (tests of planning alone).
   */
  generation?: number;
  resumed: boolean;
  chunkSize: number;
  chunkCount: number;
  /** The state machine's Choice sends runs with chunkCount > mapThreshold to the Distributed Map. */
  mapThreshold: number;
  /** The branch that Choice takes (for logs and reports; the Choice compares the two numbers itself). */
  map: MapKind;
  chunkMode: ChunkListMode;
  /** The inline Map's items (ItemsPath $.chunks): ChunkRefs, or indexes; empty for the Distributed Map. */
  chunks: ChunkRef[] | number[];
  /** Where the Distributed Map's ItemReader finds the chunk list (written for every run when configured). */
  manifest?: { bucket: string; key: string };
  totals: RunTotals;
  /** The plan-wide read: whether chunks look existing goals up in an index or send finders. */
  goalIndex?: GoalIndexSummary;
  /** A verify pass (the chunks learn it from the index, not from this payload). */
  verify?: true;
}

/** Writes the chunk list where a Distributed Map's S3 ItemReader reads it (a JSON array). */
export interface ChunkManifestWriter {
  write(runId: string, attempt: number, chunks: ChunkRef[]): Promise<{ bucket: string; key: string }>;
}

export interface PlanDeps {
  runs: RunStore;
  /** One run per connection; optional only for callers that test planning alone. */
  lease?: RunLease;
  chunks: ChunkStore;
  openSource: (ref: SourceRef) => GoalSource;
  manifest?: ChunkManifestWriter;
  /** Where a source that is not UTF-8 JSON Lines or CSV gets its UTF-8 copy (normalised once per plan). */
  sourceCopies?: SourceCopyStore;
  /** The plan-wide read of existing goals (plan-sync builds it with buildGoalIndex); absent: finders. */
  indexGoals?: (args: IndexGoalsArgs) => Promise<GoalIndexSummary>;
}

export interface PlanOptions {
  maxInlineRefBytes?: number;
  maxInlineChunks?: number;
  /** The deployment's threshold (MAP_THRESHOLD; 0 forces the Distributed Map); default maxInlineChunks. */
  mapThreshold?: number;
}

/**
 * Creates or resumes a run (invariant 8) and plans it: validates the whole source once, stores every
 * invalid record with its line and reason (invariant 9), and returns only references. Planning is
 * deterministic for a given source and chunk size, so a resume reproduces the same chunks.
 */
export async function planRun(
  input: PlanInput,
  deps: PlanDeps,
  options: PlanOptions = {},
): Promise<PlanOutput> {
  const opts = { ...PLAN_DEFAULTS, ...options };
  if (!input.runId || !input.connectionId || !input.source?.uri) {
    throw new ConfigError('plan needs runId, connectionId and source.uri');
  }
  const mapThreshold = mapThresholdOf(input, opts);
  if (input.resume && !(await deps.runs.getRun(input.runId))) throw new RunNotFoundError(input.runId);
  const held = await deps.lease?.acquire(input.connectionId, input.runId);
  let run: Awaited<ReturnType<RunStore['startRun']>>['run'];
  let resumed: boolean;
  let source: GoalSource;
  try {
    // A starter may pin the version itself (`goal-sync start --upload` names the VersionId it wrote, so
    // a later overwrite of the key cannot swap the file under the run): identify reads that version,
    // and a source that is not it is refused rather than silently replaced by what is there now.
    const pinned = input.source.version;
    const ref: SourceRef = {
      uri: input.source.uri,
      format: input.source.format,
      ...(pinned ? { version: pinned } : {}),
      ...(input.source.encoding ? { encoding: input.source.encoding } : {}),
      ...(input.source.delimiter ? { delimiter: input.source.delimiter } : {}),
    };
    const version = await deps.openSource(ref).identify?.();
    const mismatch = sourceChange(pinned, version);
    if (mismatch) throw new SourceChangedError(`not the version the execution input pins (${mismatch})`);
    ({ run, resumed } = await deps.runs.startRun({
      runId: input.runId,
      source: { ...ref, ...(version ? { version } : {}) },
      connectionId: input.connectionId,
      chunkSize: input.chunkSize ?? PLAN_DEFAULTS.chunkSize,
      ...(input.executionArn ? { executionArn: input.executionArn } : {}),
    }));
    // Every read of the run goes through the pinned version (invariant 8).
    source = deps.openSource(run.source);
  } catch (err) {
    // A refused resume leaves the connection to whoever comes next (unless a live execution has it).
    if ((err instanceof SourceChangedError || err instanceof ConfigError) && held && !held.alreadyHeld) {
      await deps.lease?.release(input.connectionId, input.runId);
    }
    throw err;
  }
  // Anything but UTF-8 JSON Lines or CSV (another encoding, UTF-16, a JSON array) is read through a
  // UTF-8 copy written now and pinned like any source: chunks are byte ranges of the copy.
  let readRef: SourceRef = run.source;
  const copy = await source.normalizedCopy?.();
  if (copy) {
    if (!deps.sourceCopies) {
      throw new ConfigError(
        `${run.source.uri} is ${copy.shape.jsonArray ? 'a JSON array' : copy.shape.encoding}, which is read through a UTF-8 copy, and plan-sync has no place for it (MANIFEST_BUCKET)`,
      );
    }
    readRef = await deps.sourceCopies.write(input.runId, run.attempt, copy, run.source);
    source = deps.openSource(readRef);
  }
  // A resume keeps the stored chunk size: record checkpoints do not depend on it, chunk summaries do.
  const chunkSize = run.chunkSize;
  const plan = await source.plan(chunkSize);
  await deps.runs.putInvalidRecords(input.runId, plan.invalid);
  const totals: RunTotals = {
    totalRecords: plan.totalRecords,
    validRecords: plan.validRecords,
    invalid: plan.invalid.length,
    bytes: plan.bytes,
  };

  let chunkMode: ChunkListMode = 'inline';
  let chunks: ChunkRef[] | number[] = plan.chunks;
  const map: MapKind = plan.chunks.length > mapThreshold ? 'distributed' : 'inline';
  // Every run's list goes where the Distributed Map reads it: one kind of plan whatever the branch.
  const manifest = await deps.manifest?.write(input.runId, run.attempt, plan.chunks);
  if (map === 'distributed') {
    if (!manifest) {
      throw new ConfigError(
        `${plan.chunks.length} chunks exceed the inline Map's ${mapThreshold} and no manifest store is configured (MANIFEST_BUCKET): raise the chunk size`,
      );
    }
    chunkMode = 'manifest';
    chunks = [];
  } else if (Buffer.byteLength(JSON.stringify(plan.chunks)) > opts.maxInlineRefBytes) {
    chunkMode = 'indexed';
    await deps.chunks.putChunkRefs(input.runId, plan.chunks);
    chunks = plan.chunks.map((c) => c.index);
  }
  await deps.runs.markPlanned(input.runId, plan.chunks.length, totals, input.verify === true);
  // After the run lease is held and the run planned, before any chunk runs (issue 15).
  const goalIndex = await deps.indexGoals?.({
    runId: input.runId,
    connectionId: run.connectionId,
    attempt: run.attempt,
    chunks: plan.chunks,
    chunkSize,
    goalPlanIds: plan.goalPlanIds ?? [],
    validRecords: plan.validRecords,
    verify: input.verify === true,
    source,
    totals,
  });

  const output: PlanOutput = {
    runId: input.runId,
    connectionId: run.connectionId,
    source: readRef,
    attempt: run.attempt,
    ...(held ? { generation: held.generation } : {}),
    resumed,
    chunkSize,
    chunkCount: plan.chunks.length,
    mapThreshold,
    map,
    chunkMode,
    chunks,
    ...(manifest ? { manifest } : {}),
    totals,
    ...(goalIndex ? { goalIndex } : {}),
    ...(input.verify ? { verify: true as const } : {}),
  };
  const bytes = Buffer.byteLength(JSON.stringify(output));
  if (bytes > PAYLOAD_BUDGET_BYTES) {
    throw new ConfigError(`plan output of ${bytes} bytes would exceed the Step Functions payload limit`);
  }
  return output;
}

/** The input's threshold, else the deployment's, never above what an inline Map can take. */
function mapThresholdOf(input: PlanInput, opts: { maxInlineChunks: number; mapThreshold?: number }): number {
  const limit = opts.maxInlineChunks;
  const threshold = input.mapThreshold ?? opts.mapThreshold ?? limit;
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > limit) {
    throw new ConfigError(
      `mapThreshold must be a whole number from 0 to ${limit} (the inline Map's limit), got ${threshold}`,
    );
  }
  return threshold;
}

/** The ChunkRef of a Map item, reading it from DynamoDB when the plan passed only its index. */
export async function resolveChunk(task: ChunkTask, chunks: ChunkStore): Promise<ChunkRef> {
  if (typeof task.chunk !== 'number') return task.chunk;
  const ref = await chunks.getChunkRef<ChunkRef>(task.runId, task.chunk);
  if (!ref) throw new ConfigError(`run ${task.runId} has no chunk ${task.chunk}: was it planned?`);
  return ref;
}

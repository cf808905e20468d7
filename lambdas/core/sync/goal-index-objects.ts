import { ConfigError } from '../errors.ts';
import { GOAL_INDEX_DEFAULTS } from './goal-index.ts';
import type { GoalIndexManifest, GoalIndexStore, IndexSlice } from './goal-snapshot.ts';
import { runPool } from './pool.ts';

/** The two object calls the index needs (S3 in AWS, the local object store on the laptop). */
export interface IndexObjects {
  put(key: string, body: string): Promise<void>;
  /** Undefined when the object does not exist. */
  get(key: string): Promise<string | undefined>;
}

/**
 * The index as objects beside the chunk manifest: `<prefix><runId>/attempt-<n>/goal-index/index.json`
 * and one `chunk-<i>.json` per chunk with goals. One prefix per attempt: a resume re-reads HCM and
 * never mixes its snapshot with an older one.
 */
export class ObjectGoalIndex implements GoalIndexStore {
  /** A manifest, once found, never changes (written last, once per attempt). */
  private readonly manifests = new Map<string, GoalIndexManifest>();

  constructor(
    private readonly objects: IndexObjects,
    private readonly prefix = 'runs/',
  ) {}

  private base(runId: string, attempt: number): string {
    return `${this.prefix}${runId}/attempt-${attempt}/goal-index/`;
  }

  async write(
    runId: string,
    attempt: number,
    manifest: GoalIndexManifest,
    slices: Map<number, IndexSlice>,
  ): Promise<void> {
    const base = this.base(runId, attempt);
    await runPool(
      [...slices],
      GOAL_INDEX_DEFAULTS.writeConcurrency,
      () => true,
      ([index, slice]) => this.objects.put(`${base}chunk-${index}.json`, JSON.stringify(slice)),
    );
    await this.objects.put(`${base}index.json`, JSON.stringify(manifest));
  }

  async readManifest(runId: string, attempt: number): Promise<GoalIndexManifest | undefined> {
    const key = `${this.base(runId, attempt)}index.json`;
    const cached = this.manifests.get(key);
    if (cached) return cached;
    const body = await this.objects.get(key);
    if (body === undefined) return undefined;
    const manifest = JSON.parse(body) as GoalIndexManifest;
    this.manifests.set(key, manifest);
    return manifest;
  }

  async readSlice(runId: string, attempt: number, chunkIndex: number): Promise<IndexSlice> {
    const body = await this.objects.get(`${this.base(runId, attempt)}chunk-${chunkIndex}.json`);
    // The manifest lists this chunk, so its slice was written before it: missing means tampered.
    if (body === undefined)
      throw new ConfigError(`run ${runId}: the goal index has no slice for chunk ${chunkIndex}`);
    const slice = JSON.parse(body) as IndexSlice | IndexSlice['goals'];
    // A slice written before the index carried assignees (an attempt planned by the previous code).
    return Array.isArray(slice) ? { goals: slice, assignees: [] } : slice;
  }
}

import { randomUUID } from 'node:crypto';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { ObjectReader } from '../adapters/local-objects.ts';

/**
 * A small executor for the one state type aws-local-stepfunctions cannot run: a Map in DISTRIBUTED
 * mode (it has no ItemReader). It follows the Step Functions semantics the sync definition relies on:
 * - ItemReader `arn:aws:states:::s3:getObject` with ReaderConfig.InputType JSON (and MaxItems), its
 *   Parameters evaluated against the Map's input, the object read through a local object store;
 * - ItemSelector per item, with `$$.Map.Item.Index/Value`;
 * - ItemBatcher (MaxItemsPerBatch, MaxInputBytesPerBatch, BatchInput): each batch `{Items, BatchInput?}`;
 * - each batch a child execution of the ItemProcessor with its own context and history, run by
 *   aws-local-stepfunctions itself (the same Task overrides as the parent);
 * - MaxConcurrency children at once; ToleratedFailurePercentage / ToleratedFailureCount over items;
 *   above them no new child starts, running ones are stopped, and the state fails with
 *   States.ExceedToleratedFailureThreshold, as Step Functions reports it.
 * Payload templates are evaluated by aws-local-stepfunctions (a one-state Pass machine), not re-implemented.
 */

type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
type AslDefinition = ConstructorParameters<typeof StateMachine>[0];
type RunOptions = NonNullable<Parameters<StateMachine['run']>[1]>;

export interface DistributedMapState {
  Type: 'Map';
  ItemReader: {
    Resource: string;
    ReaderConfig?: { InputType?: string; MaxItems?: number };
    Parameters?: Record<string, unknown>;
  };
  ItemSelector?: Record<string, unknown>;
  ItemBatcher?: {
    MaxItemsPerBatch?: number;
    MaxInputBytesPerBatch?: number;
    BatchInput?: Record<string, unknown>;
  };
  ItemProcessor: {
    ProcessorConfig?: { Mode?: string; ExecutionType?: string };
    StartAt: string;
    States: Record<string, unknown>;
  };
  MaxConcurrency?: number;
  ToleratedFailurePercentage?: number;
  ToleratedFailureCount?: number;
}

/** What one run of the state did: reported by `goal-sync local` and asserted by the tests. */
export interface MapRunSummary {
  state: string;
  items: number;
  children: number;
  succeeded: number;
  failed: number;
  aborted: number;
  /** Events in the longest child history (aws-local-stepfunctions' events, a proxy for Step Functions'). */
  maxChildEvents: number;
}

/** A Step Functions error: its name is what Catch/Retry match on. */
export class StatesError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export const S3_GET_OBJECT = 'arn:aws:states:::s3:getObject';
/** Step Functions' own cap when MaxConcurrency is 0 or absent. */
const DEFAULT_MAX_CONCURRENCY = 10_000;
/** ItemBatcher's MaxInputBytesPerBatch default and maximum (256 KiB). */
const MAX_BATCH_BYTES = 256 * 1024;

export function isDistributedMap(state: unknown): state is DistributedMapState {
  const s = state as { Type?: string; ItemProcessor?: { ProcessorConfig?: { Mode?: string } } };
  return s?.Type === 'Map' && s.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
}

/** Evaluates a payload template the way the state machine would (Pass state Parameters). */
function templateMachine(template: Record<string, unknown>) {
  const machine = new StateMachine(
    {
      StartAt: 'T',
      States: { T: { Type: 'Pass', Parameters: template, End: true } },
    } as unknown as AslDefinition,
    { validationOptions: { noValidate: true } },
  );
  return (input: JSONValue, context: Record<string, unknown>): Promise<JSONValue> =>
    machine.run(input, { context } as RunOptions).result as Promise<JSONValue>;
}

export interface DistributedMapDeps {
  objects: ObjectReader;
  /** The parent's run options (Task overrides, retry/wait overrides): children run the same handlers. */
  runOptions: RunOptions;
  /** The parent execution's id (children are named under it). */
  parentExecutionId: string;
  onChild?: (started: { id: string; items: number }) => void;
}

/** One run of a Distributed Map state over its input; resolves to the input (ResultPath null) or throws. */
export class DistributedMapRun {
  private readonly running = new Set<() => void>();
  private outputs: JSONValue[] = [];
  private stopped = false;
  readonly summary: MapRunSummary;

  constructor(
    private readonly stateName: string,
    private readonly state: DistributedMapState,
    private readonly deps: DistributedMapDeps,
  ) {
    this.summary = {
      state: stateName,
      items: 0,
      children: 0,
      succeeded: 0,
      failed: 0,
      aborted: 0,
      maxChildEvents: 0,
    };
  }

  /** Stops every running child (the parent execution was aborted). */
  abort(): void {
    this.stopped = true;
    for (const stop of this.running) stop();
  }

  /** The Map's result without a ResultWriter: every child's output, in item order. */
  async execute(input: JSONValue, context: Record<string, unknown>): Promise<JSONValue[]> {
    const items = await this.readItems(input, context);
    const selected = await this.select(items, input, context);
    const batches = await this.batch(selected, input, context);
    this.summary.items = selected.length;
    await this.runChildren(batches, selected.length);
    return this.outputs;
  }

  private async readItems(input: JSONValue, context: Record<string, unknown>): Promise<JSONValue[]> {
    const reader = this.state.ItemReader;
    if (reader.Resource !== S3_GET_OBJECT || (reader.ReaderConfig?.InputType ?? 'JSON') !== 'JSON') {
      throw new StatesError(
        'States.Runtime',
        `${this.stateName}: only the ${S3_GET_OBJECT} JSON ItemReader runs locally, got ${reader.Resource}`,
      );
    }
    const params = (await templateMachine(reader.Parameters ?? {})(input, context)) as {
      Bucket?: unknown;
      Key?: unknown;
    };
    if (typeof params.Bucket !== 'string' || typeof params.Key !== 'string') {
      throw new StatesError(
        'States.ItemReaderFailed',
        `${this.stateName}: ItemReader needs a Bucket and a Key`,
      );
    }
    let items: unknown;
    try {
      items = JSON.parse(await this.deps.objects.getObject(params.Bucket, params.Key));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new StatesError(
        'States.ItemReaderFailed',
        `${this.stateName}: cannot read s3://${params.Bucket}/${params.Key}: ${why}`,
      );
    }
    if (!Array.isArray(items)) {
      throw new StatesError('States.ItemReaderFailed', `${this.stateName}: the JSON object is not an array`);
    }
    const max = reader.ReaderConfig?.MaxItems;
    return (max ? items.slice(0, max) : items) as JSONValue[];
  }

  private async select(items: JSONValue[], input: JSONValue, context: Record<string, unknown>) {
    if (!this.state.ItemSelector) return items;
    const evaluate = templateMachine(this.state.ItemSelector);
    const out: JSONValue[] = [];
    for (const [index, value] of items.entries()) {
      out.push(await evaluate(input, { ...context, Map: { Item: { Index: index, Value: value } } }));
    }
    return out;
  }

  private async batch(items: JSONValue[], input: JSONValue, context: Record<string, unknown>) {
    const batcher = this.state.ItemBatcher;
    if (!batcher) return items;
    const batchInput = batcher.BatchInput
      ? await templateMachine(batcher.BatchInput)(input, context)
      : undefined;
    const maxItems = batcher.MaxItemsPerBatch ?? Number.POSITIVE_INFINITY;
    const maxBytes = Math.min(batcher.MaxInputBytesPerBatch ?? MAX_BATCH_BYTES, MAX_BATCH_BYTES);
    const batches: JSONValue[] = [];
    let current: JSONValue[] = [];
    const size = (list: JSONValue[]) =>
      Buffer.byteLength(JSON.stringify({ Items: list, ...(batchInput ? { BatchInput: batchInput } : {}) }));
    for (const item of items) {
      if (current.length > 0 && (current.length >= maxItems || size([...current, item]) > maxBytes)) {
        batches.push(this.batchOf(current, batchInput));
        current = [];
      }
      if (size([item]) > maxBytes) {
        throw new StatesError('States.Runtime', `${this.stateName}: one item exceeds MaxInputBytesPerBatch`);
      }
      current.push(item);
    }
    if (current.length > 0) batches.push(this.batchOf(current, batchInput));
    return batches;
  }

  private batchOf(items: JSONValue[], batchInput: JSONValue | undefined): JSONValue {
    return { Items: items, ...(batchInput === undefined ? {} : { BatchInput: batchInput }) };
  }

  private async runChildren(inputs: JSONValue[], itemCount: number): Promise<void> {
    const { ProcessorConfig: _config, ...processor } = this.state.ItemProcessor;
    const machine = new StateMachine(processor as unknown as AslDefinition, {
      validationOptions: { noValidate: true },
    });
    const itemsOf = (child: JSONValue) =>
      this.state.ItemBatcher ? (child as { Items: JSONValue[] }).Items.length : 1;
    // Each threshold counts only when set; with both, exceeding either fails the map run; with
    // neither (the ASL default, 0%), any failed item does.
    const { ToleratedFailureCount: count, ToleratedFailurePercentage: percent } = this.state;
    const exceeds = (failed: number) =>
      count === undefined && percent === undefined
        ? failed > 0
        : (count !== undefined && failed > count) ||
          (percent !== undefined && (failed / itemCount) * 100 > percent);
    let failedItems = 0;
    let firstFailure: { error: string; cause: string } | undefined;
    let exceeded = false;
    const concurrency = this.state.MaxConcurrency || DEFAULT_MAX_CONCURRENCY;
    this.outputs = inputs.map(() => null);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!exceeded && !this.stopped && next < inputs.length) {
        const index = next++;
        const child = inputs[index]!;
        const outcome = await this.runChild(machine, child, index);
        if (outcome === 'aborted') {
          this.summary.aborted += 1;
          continue;
        }
        if (outcome === 'succeeded') {
          this.summary.succeeded += 1;
          continue;
        }
        this.summary.failed += 1;
        firstFailure ??= outcome;
        failedItems += itemsOf(child);
        if (exceeds(failedItems) && !exceeded) {
          exceeded = true;
          // Step Functions stops the map run's other children once the threshold is crossed.
          for (const stop of this.running) stop();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
    if (exceeded) {
      throw new StatesError(
        'States.ExceedToleratedFailureThreshold',
        `The specified tolerated failure threshold was exceeded: ${failedItems} of ${itemCount} items failed ` +
          `(first: ${firstFailure?.error}: ${firstFailure?.cause})`,
      );
    }
  }

  private async runChild(
    machine: StateMachine,
    input: JSONValue,
    index: number,
  ): Promise<'succeeded' | 'aborted' | { error: string; cause: string }> {
    const name = randomUUID();
    // Step Functions names a child <state machine>/<map run label>:<uuid> under the parent's machine.
    const id = `${this.deps.parentExecutionId.replace(/:[^:]+$/, '')}/${this.stateName}:${name}`;
    this.summary.children += 1;
    this.deps.onChild?.({
      id,
      items: this.state.ItemBatcher ? (input as { Items: unknown[] }).Items.length : 1,
    });
    const execution = machine.run(input, {
      ...this.deps.runOptions,
      context: {
        Execution: { Id: id, Name: name, StartTime: new Date().toISOString(), Input: input },
      },
    } as RunOptions);
    this.running.add(execution.abort);
    // Each child has its own history; count it (the longest one is reported).
    const counted = (async () => {
      let events = 0;
      for await (const _event of execution.eventLogs) events += 1;
      this.summary.maxChildEvents = Math.max(this.summary.maxChildEvents, events);
    })();
    try {
      const output = (await execution.result) as JSONValue;
      this.outputs[index] = output;
      return 'succeeded';
    } catch (err) {
      if (this.stopped || err instanceof ExecutionAbortedError) return 'aborted';
      const cause = err instanceof ExecutionError ? (err.cause as Error) : (err as Error);
      return { error: cause?.name ?? 'Error', cause: cause?.message ?? String(err) };
    } finally {
      this.running.delete(execution.abort);
      // The history closes with the execution; do not let a logger that never closes hold the map.
      await Promise.race([counted.catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
    }
  }
}

import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { ObjectReader } from '../adapters/local-objects.ts';
import {
  DistributedMapRun,
  type DistributedMapState,
  isDistributedMap,
  type MapRunSummary,
} from './distributed-map.ts';

// aws-local-stepfunctions does not export its JSON types; these are the shapes it accepts.
type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
type AslDefinition = ConstructorParameters<typeof StateMachine>[0];

export type FunctionKind = 'plan' | 'chunk' | 'finish' | 'hdl';

/** The slice of the Lambda context our handlers use (middy and Powertools read these). */
export interface LocalLambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
  done(): void;
  fail(): void;
  succeed(): void;
}

// biome-ignore lint/suspicious/noExplicitAny: a middy handler's event/context types differ per Lambda; this is the boundary.
export type LocalHandler = (event: any, context: any) => Promise<unknown>;

export function lambdaContext(
  functionName: string,
  timeoutMs: number,
  cap: () => number = () => Number.POSITIVE_INFINITY,
): LocalLambdaContext {
  const deadline = Date.now() + timeoutMs;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, Math.min(deadline - Date.now(), cap())),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Lambda's error contract: Step Functions sees `errorType` (the error's name) and `errorMessage`. */
class LambdaFunctionError extends Error {
  constructor(errorType: string, message: string) {
    super(message);
    this.name = errorType;
  }
}

/**
 * Invokes a handler the way the Lambda service would: a JSON round trip of event and result (so
 * nothing non-serializable slips through locally that would break in AWS) and a fresh context with
 * the function's timeout.
 */
export function asLambda(name: string, handler: LocalHandler, timeoutMs: number, cap?: () => number) {
  return async (input: JSONValue): Promise<JSONValue> => {
    const event = JSON.parse(JSON.stringify(input)) as JSONValue;
    try {
      const result = await handler(event, lambdaContext(name, timeoutMs, cap));
      return JSON.parse(JSON.stringify(result ?? null)) as JSONValue;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      throw new LambdaFunctionError(e.name || 'Error', e.message);
    }
  };
}

interface AslState {
  Type?: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  States?: Record<string, AslState>;
  ItemProcessor?: { States?: Record<string, AslState> };
  Iterator?: { States?: Record<string, AslState> };
  Branches?: Array<{ States?: Record<string, AslState> }>;
}

/** Finds every Task state (also inside Map and Parallel) and which of our functions its Resource names. */
export function taskStates(
  asl: { States?: Record<string, AslState> },
  functionArns: Record<FunctionKind, string>,
): Map<string, FunctionKind> {
  const byArn = new Map(Object.entries(functionArns).map(([kind, arn]) => [arn, kind as FunctionKind]));
  const found = new Map<string, FunctionKind>();
  const visit = (states: Record<string, AslState> | undefined): void => {
    for (const [name, state] of Object.entries(states ?? {})) {
      if (state.Type === 'Task') {
        const target = String(state.Parameters?.FunctionName ?? state.Resource ?? '');
        const kind = byArn.get(target) ?? byArn.get(target.replace(/:\$LATEST$/, ''));
        if (!kind) throw new Error(`Task state ${name} targets ${target}, which is not a pipeline function`);
        found.set(name, kind);
      }
      visit(state.ItemProcessor?.States ?? state.Iterator?.States);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit(asl.States);
  return found;
}

export interface LocalExecution {
  result: Promise<unknown>;
  abort(): void;
  /** The Distributed Map runs this execution made (empty when every run took the inline Map). */
  mapRuns: MapRunSummary[];
}

type RunOptions = NonNullable<Parameters<StateMachine['run']>[1]>;

/** What stands in for a Distributed Map state locally: a Task whose handler is distributed-map.ts. */
const DISTRIBUTED_MAP_RESOURCE = 'arn:aws:lambda:us-east-1:000000000000:function:local-distributed-map';
/** No timeout of its own in Step Functions (the execution's bounds it); the local Task default is 60 s. */
const MAP_STATE_TIMEOUT_SECONDS = 7 * 24 * 3600;

/**
 * The executable form of a definition: every top-level Distributed Map state becomes a Task with the
 * Map's own InputPath, ResultSelector, ResultPath, OutputPath, Catch and transition, whose handler runs
 * the Map (ItemReader, ItemBatcher, child executions). The definition itself is not changed.
 */
export function withLocalDistributedMaps(asl: Record<string, unknown>): {
  asl: Record<string, unknown>;
  maps: Map<string, DistributedMapState>;
} {
  const maps = new Map<string, DistributedMapState>();
  const states: Record<string, unknown> = {};
  for (const [name, state] of Object.entries(asl.States as Record<string, unknown>)) {
    if (!isDistributedMap(state)) {
      states[name] = state;
      continue;
    }
    maps.set(name, state);
    const keep = [
      'InputPath',
      'ResultSelector',
      'ResultPath',
      'OutputPath',
      'Catch',
      'Next',
      'End',
      'Comment',
    ];
    const task: Record<string, unknown> = {
      Type: 'Task',
      Resource: DISTRIBUTED_MAP_RESOURCE,
      TimeoutSeconds: MAP_STATE_TIMEOUT_SECONDS,
    };
    for (const key of keep) if (key in state) task[key] = (state as unknown as Record<string, unknown>)[key];
    states[name] = task;
  }
  return { asl: { ...asl, States: states }, maps };
}

export interface ExecuteOptions {
  /** Where the Distributed Map's ItemReader reads (the local object store plan-sync writes to). */
  objects?: ObjectReader;
}

/** Runs the synthesized definition with aws-local-stepfunctions, each Task mapped to the real handler. */
export function executeLocally(
  asl: Record<string, unknown>,
  functionArns: Record<FunctionKind, string>,
  handlers: Record<FunctionKind, (input: JSONValue) => Promise<JSONValue>>,
  input: Record<string, unknown>,
  executionName: string,
  options: ExecuteOptions = {},
): LocalExecution {
  const overrides: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
  for (const [state, kind] of taskStates(asl as { States?: Record<string, AslState> }, functionArns)) {
    overrides[state] = handlers[kind];
  }
  const executionId = `arn:aws:states:local:000000000000:execution:goal-sync:${executionName}`;
  const context = {
    Execution: {
      Id: executionId,
      Name: executionName,
      StartTime: new Date().toISOString(),
      RoleArn: 'arn:aws:iam::000000000000:role/local',
      Input: input as Record<string, JSONValue>,
    },
  };
  const runOptions = { overrides: { taskResourceLocalHandlers: overrides } } as RunOptions;
  const executable = withLocalDistributedMaps(asl);
  const mapRuns: MapRunSummary[] = [];
  const active = new Set<DistributedMapRun>();
  for (const [name, state] of executable.maps) {
    overrides[name] = async (mapInput: JSONValue) => {
      if (!options.objects) throw new Error(`${name}: a Distributed Map needs a local object store`);
      const run = new DistributedMapRun(name, state, {
        objects: options.objects,
        runOptions,
        parentExecutionId: executionId,
      });
      mapRuns.push(run.summary);
      active.add(run);
      try {
        return await run.execute(mapInput, context);
      } finally {
        active.delete(run);
      }
    };
  }
  const machine = new StateMachine(executable.asl as unknown as AslDefinition, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  const execution = machine.run(input as JSONValue, {
    ...runOptions,
    context: context as unknown as RunOptions['context'],
  });
  // aws-local-stepfunctions queues every event of the execution (an inline Map's iterations forward
  // theirs, inputs and outputs included) until someone reads them: unread, the queue held the whole
  // history of a run in memory, growing with its size. Nobody needs them here, so they are read and dropped.
  void (async () => {
    for await (const _event of execution.eventLogs) {
      // dropped
    }
  })().catch(() => undefined);
  return {
    result: execution.result,
    abort: () => {
      // Child executions are executions of their own: stop them with the parent.
      for (const run of active) run.abort();
      execution.abort();
    },
    mapRuns,
  };
}

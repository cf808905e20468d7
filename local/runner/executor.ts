import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';

// aws-local-stepfunctions does not export its JSON types; these are the shapes it accepts.
type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
type AslDefinition = ConstructorParameters<typeof StateMachine>[0];

export type FunctionKind = 'plan' | 'chunk' | 'finish';

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
}

/** Runs the synthesized definition with aws-local-stepfunctions, each Task mapped to the real handler. */
export function executeLocally(
  asl: Record<string, unknown>,
  functionArns: Record<FunctionKind, string>,
  handlers: Record<FunctionKind, (input: JSONValue) => Promise<JSONValue>>,
  input: Record<string, unknown>,
  executionName: string,
): LocalExecution {
  const overrides: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
  for (const [state, kind] of taskStates(asl as { States?: Record<string, AslState> }, functionArns)) {
    overrides[state] = handlers[kind];
  }
  const machine = new StateMachine(asl as unknown as AslDefinition, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  const execution = machine.run(input as JSONValue, {
    overrides: { taskResourceLocalHandlers: overrides },
    context: {
      Execution: {
        Id: `arn:aws:states:local:000000000000:execution:goal-sync:${executionName}`,
        Name: executionName,
        StartTime: new Date().toISOString(),
        RoleArn: 'arn:aws:iam::000000000000:role/local',
        Input: input as Record<string, JSONValue>,
      },
    } as unknown as NonNullable<Parameters<StateMachine['run']>[1]>['context'],
  });
  return { result: execution.result, abort: execution.abort };
}

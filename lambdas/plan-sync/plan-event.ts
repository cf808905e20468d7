import {
  DEFAULT_MAX_INVALID,
  didYouMean,
  escapeControl,
  type MaxInvalid,
  parseDelimiter,
  parseMaxInvalid,
} from '#core/source/index.ts';
import type { PlanInput, WriteMode } from '#core/sync/index.ts';
import { parseHdlThreshold, parsePlanInput, parseWriteMode } from '#core/sync/index.ts';
import { ConfigError } from '../core/errors.ts';

/**
 * The execution input as people write it (Step Functions console, schedules, `goal-sync start`). The
 * least that works is `{"source": {"uri": "s3://BUCKET/goals.jsonl"}}`: the run id defaults to the
 * execution's name (the state machine passes it as `executionName`), the connection to the stack's.
 */
export const PLAN_INPUT_FIELDS = [
  'runId',
  'connectionId',
  'source',
  'chunkSize',
  'maxInvalid',
  'executionName',
  // goal-sync resume / local --resume: the run must exist already.
  'resume',
  // Schedules: "skip" ends the execution successfully while another run of the connection is going.
  'ifRunning',
  // Runs of more chunks take the Distributed Map (goal-sync local --map-threshold); may only lower it.
  'mapThreshold',
  // Verify pass (goal-sync local --verify, a weekly schedule): repair goals missing or drifted in HCM.
  'verify',
  // What the source's bytes are when not UTF-8 ("windows-1252"), and the CSV separator (else detected).
  'encoding',
  'delimiter',
  // Issue 24: rest, hdl or auto (HDL above hdlThreshold records to write); goal-sync local --write-mode.
  'writeMode',
  'hdlThreshold',
] as const;

const EXAMPLE = '{"source": {"uri": "s3://BUCKET/goals.jsonl"}}';

export interface PlanEvent {
  input: PlanInput;
  maxInvalid?: MaxInvalid;
  write: { writeMode?: WriteMode; hdlThreshold?: number };
  /** `$$.Execution.StartTime` (epoch ms): what the run's duration estimate counts the time left from. */
  executionStartedAt?: number;
}

export function normalizePlanEvent(event: unknown, defaults: { connectionId?: string }): PlanEvent {
  if (!event || typeof event !== 'object' || Array.isArray(event)) {
    throw new ConfigError(`execution input must be a JSON object such as ${EXAMPLE}`);
  }
  // The state machine hands over {input, execution: {id}}: the id tells finish-sync which execution
  // planned the run's current attempt. Direct calls (tests, tools) may pass the input alone.
  const wrapped = event as { input?: unknown; execution?: { id?: unknown; startTime?: unknown } };
  const executionArn =
    'input' in wrapped && typeof wrapped.execution?.id === 'string' ? wrapped.execution.id : undefined;
  const started =
    executionArn !== undefined && typeof wrapped.execution?.startTime === 'string'
      ? Date.parse(wrapped.execution.startTime)
      : Number.NaN;
  const startedAt = Number.isFinite(started) ? { executionStartedAt: started } : {};
  const inner = executionArn === undefined ? event : wrapped.input;
  if (!inner || typeof inner !== 'object' || Array.isArray(inner)) {
    throw new ConfigError(`execution input must be a JSON object such as ${EXAMPLE}`);
  }
  const raw = inner as Record<string, unknown>;
  // Step Functions adds nothing of its own to the input; an unknown key is a typo worth naming.
  const unknown = Object.keys(raw).filter((k) => !(PLAN_INPUT_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    const name = escapeControl(unknown[0]!.slice(0, 60));
    throw new ConfigError(
      `execution input: unknown field '${name}'${didYouMean(name, PLAN_INPUT_FIELDS)}; expected ${PLAN_INPUT_FIELDS.slice(0, 5).join(', ')}`,
    );
  }
  if (raw.source === undefined) throw new ConfigError(`execution input: source is required, e.g. ${EXAMPLE}`);
  if (typeof raw.source !== 'object' || raw.source === null || Array.isArray(raw.source)) {
    throw new ConfigError(`execution input: source must be an object with a uri, e.g. ${EXAMPLE}`);
  }
  const runId = raw.runId ?? raw.executionName;
  if (runId === undefined) {
    throw new ConfigError('execution input: runId is required (or start the run as a named execution)');
  }
  const connectionId = raw.connectionId ?? defaults.connectionId;
  if (connectionId === undefined) {
    throw new ConfigError('execution input: connectionId is required (the stack sets no default connection)');
  }
  const input = parsePlanInput({
    runId,
    connectionId,
    source: {
      ...raw.source,
      ...(raw.encoding === undefined ? {} : { encoding: raw.encoding }),
      ...(raw.delimiter === undefined ? {} : { delimiter: delimiterOf(raw.delimiter) }),
    },
    ...(raw.chunkSize === undefined ? {} : { chunkSize: raw.chunkSize }),
    ...(raw.resume === undefined ? {} : { resume: raw.resume }),
    ...(raw.ifRunning === undefined ? {} : { ifRunning: raw.ifRunning }),
    ...(raw.mapThreshold === undefined ? {} : { mapThreshold: raw.mapThreshold }),
    ...(raw.verify === undefined ? {} : { verify: raw.verify }),
  });
  if (executionArn !== undefined) input.executionArn = executionArn;
  const write = {
    ...(raw.writeMode === undefined ? {} : { writeMode: parseWriteMode(raw.writeMode, 'execution input') }),
    ...(raw.hdlThreshold === undefined
      ? {}
      : { hdlThreshold: parseHdlThreshold(raw.hdlThreshold, 'execution input') }),
  };
  // An export with more broken records than this is broken itself: the run fails loudly (exit 4).
  if (raw.maxInvalid === undefined) return { input, maxInvalid: DEFAULT_MAX_INVALID, write, ...startedAt };
  if (typeof raw.maxInvalid !== 'string' && typeof raw.maxInvalid !== 'number') {
    throw new ConfigError('execution input: maxInvalid must be a count (10) or a share ("5%")');
  }
  return { input, maxInvalid: parseMaxInvalid(raw.maxInvalid), write, ...startedAt };
}

function delimiterOf(raw: unknown): string {
  if (typeof raw !== 'string') throw new ConfigError('execution input: delimiter must be ",", ";" or "tab"');
  return parseDelimiter(raw);
}

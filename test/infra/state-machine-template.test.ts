import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_MACHINE_TIMEOUT } from '../../infra/stack.ts';
import {
  PLACEHOLDER_FUNCTION_ARNS,
  RENDERED_MANIFEST_BUCKET,
  renderDefinition,
  STATE_NAMES,
} from '../../infra/state-machine.ts';
import { ENV as HANDLER_ENV } from '../../lambdas/core/env.ts';
import { localDefinition } from '../../local/runner/definition.ts';
import { resourcesOfType, type Synthesized, synthesize } from './support.ts';

// asl-validator ships CommonJS without types: this is its documented call shape.
type AslValidator = (
  definition: unknown,
  opts?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (sep?: string) => string };
const validate = createRequire(import.meta.url)('asl-validator') as AslValidator;

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '000000000000',
  'AWS::URLSuffix': 'amazonaws.com',
};

/**
 * The deployed definition as plain ASL: the template's Fn::Join with the three functions' ARNs and the
 * manifest bucket swapped for renderDefinition's placeholders. Any other intrinsic fails the test.
 */
function deployedAsl(s: Synthesized): Record<string, unknown> {
  const [, props] = resourcesOfType(s.json, 'AWS::StepFunctions::StateMachine')[0]!;
  const placeholders = new Map<string, string>([
    [s.logicalIdOf('planSync'), PLACEHOLDER_FUNCTION_ARNS.plan],
    [s.logicalIdOf('syncChunk'), PLACEHOLDER_FUNCTION_ARNS.chunk],
    [s.logicalIdOf('finishSync'), PLACEHOLDER_FUNCTION_ARNS.finish],
    [s.logicalIdOf('hdlLoad'), PLACEHOLDER_FUNCTION_ARNS.hdl],
  ]);
  const bucketId = s.stack.getLogicalId(s.stack.data.sourceBucket.node.defaultChild as never);
  const part = (p: unknown): string => {
    if (typeof p === 'string') return p;
    const o = p as Record<string, unknown>;
    const getAtt = o['Fn::GetAtt'] as [string, string] | undefined;
    if (getAtt && getAtt[1] === 'Arn' && placeholders.has(getAtt[0])) return placeholders.get(getAtt[0])!;
    if (typeof o.Ref === 'string' && o.Ref in PSEUDO) return PSEUDO[o.Ref]!;
    if (o.Ref === bucketId) return RENDERED_MANIFEST_BUCKET;
    throw new Error(`unexpected intrinsic in the definition: ${JSON.stringify(p)}`);
  };
  const def = props.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof def === 'string' ? def : def['Fn::Join'][1].map(part).join(def['Fn::Join'][0]);
  return JSON.parse(text) as Record<string, unknown>;
}

const clone = <T>(v: T): T => structuredClone(v);

type State = Record<string, unknown> & { ItemProcessor?: { ProcessorConfig?: { Mode?: string } } };

describe.each([
  ['default stack', { chunkConcurrency: '6' }, 6, false],
  // The old flag only forces the branch (plan-sync's MAP_THRESHOLD=0); the definition is the same kind.
  ['distributedMap=true', { chunkConcurrency: '60', distributedMap: 'true' }, 60, true],
] as const)('%s: the deployed definition', (_name, context, concurrency, forced) => {
  let s: Synthesized;
  let deployed: Record<string, unknown>;
  beforeAll(() => {
    s = synthesize({ context });
    deployed = deployedAsl(s);
  });

  it('is valid ASL (asl-validator, path and ARN checks on)', () => {
    const result = validate(clone(deployed), { checkPaths: true, checkArn: true });
    expect(result.isValid, result.errorsText('\n')).toBe(true);
  });

  it('has the write-path Choice, then one Map Choice and both branches: inline Map up to mapThreshold, Distributed Map above', () => {
    const states = deployed.States as Record<string, State>;
    // The write path first (REST straight to the Map choice; HDL rejoins it after its steps).
    expect(states[STATE_NAMES.plan]?.Next).toBe(STATE_NAMES.writeChoice);
    expect(states[STATE_NAMES.writeChoice]).toMatchObject({ Type: 'Choice', Default: STATE_NAMES.mapChoice });
    expect(states[STATE_NAMES.hdlRecord]?.Next).toBe(STATE_NAMES.mapChoice);
    expect(states[STATE_NAMES.mapChoice]).toMatchObject({
      Type: 'Choice',
      Choices: [
        {
          Variable: '$.chunkCount',
          NumericGreaterThanPath: '$.mapThreshold',
          Next: STATE_NAMES.distributedChunks,
        },
      ],
      Default: STATE_NAMES.chunks,
    });
    const inline = states[STATE_NAMES.chunks]!;
    const distributed = states[STATE_NAMES.distributedChunks]!;
    expect(inline).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.chunks',
      MaxConcurrency: Math.min(concurrency, 40),
    });
    expect(inline.ItemProcessor?.ProcessorConfig?.Mode ?? 'INLINE').toBe('INLINE');
    expect(distributed).toMatchObject({
      Type: 'Map',
      MaxConcurrency: concurrency,
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        Parameters: { Bucket: RENDERED_MANIFEST_BUCKET, 'Key.$': '$.manifest.key' },
      },
      ItemBatcher: { MaxItemsPerBatch: 4 },
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
  });

  it('plan-sync always writes the manifest; the flag only forces the threshold to 0', () => {
    const [, fn] = resourcesOfType(s.json, 'AWS::Lambda::Function').find(
      ([id]) => id === s.logicalIdOf('planSync'),
    )!;
    const env = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env[HANDLER_ENV.manifestBucket]).toBeDefined();
    expect(env[HANDLER_ENV.mapThreshold]).toBe(forced ? '0' : undefined);
  });

  it('equals the definition the local runner executes (local/runner/definition.ts), modulo ARNs and the run timeout', () => {
    const rendered = localDefinition(concurrency);
    // The stack adds only the execution timeout (a deployment setting, not part of the shared builder).
    const { TimeoutSeconds, ...shared } = deployed;
    expect(TimeoutSeconds).toBe(STATE_MACHINE_TIMEOUT.toSeconds());
    expect(rendered.asl.TimeoutSeconds).toBeUndefined();
    expect(shared).toEqual(rendered.asl);
    // The comparison is not vacuous: another concurrency renders a different definition.
    expect(shared).not.toEqual(localDefinition(concurrency - 1).asl);
  });

  it('references no tokens or secrets', () => {
    expect(JSON.stringify(deployed)).not.toMatch(/eyJ[\w-]{6,}\.|clientSecret|refresh_token|Bearer /);
  });
});

describe('asl-validator as a gate', () => {
  it('rejects a definition whose StartAt names no state (so a pass above means something)', () => {
    const broken = clone(renderDefinition({ maxConcurrency: 2 }).asl);
    broken.StartAt = 'NoSuchState';
    expect(validate(broken).isValid).toBe(false);
  });
});

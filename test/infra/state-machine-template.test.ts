import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_MACHINE_TIMEOUT } from '../../infra/stack.ts';
import { PLACEHOLDER_FUNCTION_ARNS, renderDefinition } from '../../infra/state-machine.ts';
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
// renderDefinition's stand-in for a caller's manifest bucket (infra/state-machine.ts).
const RENDERED_MANIFEST_BUCKET = 'goal-sync-manifests';

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

describe.each([
  ['inline Map', { chunkConcurrency: '6' }, { maxConcurrency: 6 }],
  [
    'Distributed Map',
    { chunkConcurrency: '60', distributedMap: 'true' },
    { maxConcurrency: 60, distributed: { bucket: true } },
  ],
] as const)('%s: the deployed definition', (_name, context, renderOpts) => {
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

  it('equals the definition the local runner executes (renderDefinition), modulo ARNs and the run timeout', () => {
    const rendered = renderDefinition({
      maxConcurrency: renderOpts.maxConcurrency,
      // renderDefinition stands in its own placeholder bucket for the caller's.
      distributed: 'distributed' in renderOpts ? { bucket: s.stack.data.sourceBucket } : undefined,
    });
    // The stack adds only the execution timeout (a deployment setting, not part of the shared builder).
    const { TimeoutSeconds, ...shared } = deployed;
    expect(TimeoutSeconds).toBe(STATE_MACHINE_TIMEOUT.toSeconds());
    expect(rendered.asl.TimeoutSeconds).toBeUndefined();
    expect(shared).toEqual(rendered.asl);
    // The comparison is not vacuous: another concurrency renders a different definition.
    const other = renderDefinition({
      maxConcurrency: renderOpts.maxConcurrency - 1,
      distributed: 'distributed' in renderOpts ? { bucket: s.stack.data.sourceBucket } : undefined,
    });
    expect(shared).not.toEqual(other.asl);
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

import { randomBytes } from 'node:crypto';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import type { CallOptions, KeyProvider } from '../../../lambdas/core/ports.ts';
import type { DynamoModel } from './dynamo-model.ts';
import { type Actor, cycle, type World } from './world.ts';

/** What one call to a peer suffers: its latency and, maybe, a fault. */
export interface CallFault {
  latencyMs: number;
  /** throttle: refused, nothing applied. drop: applied, the answer lost, the SDK's own retry resends it. */
  fault: 'none' | 'throttle' | 'drop';
}

/** Latencies around the broker's per-call timeout (500 ms in the suites), so some calls time out. */
export const callFaultArb: fc.Arbitrary<CallFault> = fc.record({
  latencyMs: fc.constantFrom(5, 5, 60, 300, 1_500),
  fault: fc.constantFrom<CallFault['fault']>('none', 'none', 'none', 'none', 'throttle', 'drop'),
});

export const quietCall: CallFault = { latencyMs: 5, fault: 'none' };

/**
 * An actor's DocumentClient on the shared model. Each `send` is one scheduled step; the request's abort
 * signal (the lease-bounded call timeout) is honoured the way the SDK honours it.
 */
export function modelDocClient(
  world: World,
  actor: Actor,
  db: DynamoModel,
  plan: readonly CallFault[] = [],
  /** Items whose every call is throttled (a hot partition), whatever the plan says. */
  hot: (key: string) => boolean = () => false,
): DynamoDBDocumentClient {
  let calls = 0;
  const send = (
    command: { constructor: { name: string }; input: Record<string, unknown> },
    options?: CallOptions,
  ) => {
    const name = command.constructor.name;
    const planned = cycle(plan, calls++, quietCall);
    const f: CallFault = hot(describeKey(command.input)) ? { ...planned, fault: 'throttle' } : planned;
    const label = `${name.replace('Command', '')} ${describeKey(command.input)}${f.fault === 'none' ? '' : ` [${f.fault}]`}`;
    return world.step(
      actor,
      label,
      f.latencyMs,
      () => {
        if (f.fault === 'throttle')
          throw new ProvisionedThroughputExceededException({
            message: 'Rate exceeded (model)',
            $metadata: {},
          });
        if (f.fault === 'drop') {
          // Applied once; the answer is lost; the SDK resends the same request and reports that answer.
          try {
            db.execute(name, command.input);
          } catch {
            // The first attempt's answer never arrives either way.
          }
        }
        return db.execute(name, command.input);
      },
      options?.abortSignal,
    );
  };
  // Only `send` is used by the code under test; the rest of the client's surface is not modelled.
  return { send } as unknown as DynamoDBDocumentClient;
}

function describeKey(input: Record<string, unknown>): string {
  const key = (input.Key ?? input.Item) as Record<string, unknown> | undefined;
  const id = key ? String(key.connectionId ?? key.pk ?? '') : '';
  const update = typeof input.UpdateExpression === 'string' ? input.UpdateExpression.slice(0, 40) : '';
  return `${id} ${update}`.trim();
}

/**
 * KMS as the KeyProvider port: data keys bound to their encryption context, every call a step that
 * honours the caller's abort signal.
 */
export function modelKeyProvider(world: World, actor: Actor, plan: readonly CallFault[] = []): KeyProvider {
  let calls = 0;
  const step = <T>(what: string, effect: () => T, options?: CallOptions) => {
    const f = cycle(plan, calls++, quietCall);
    return world.step(
      actor,
      `KMS ${what}${f.fault === 'throttle' ? ' [throttle]' : ''}`,
      f.latencyMs,
      () => {
        if (f.fault === 'throttle')
          throw Object.assign(new Error('Rate exceeded (model)'), { name: 'ThrottlingException' });
        return effect();
      },
      options?.abortSignal,
    );
  };
  return {
    keyId: 'model-key',
    generateDataKey: (context, options) =>
      step(
        'GenerateDataKey',
        () => {
          const key = randomBytes(32);
          const wrapped = Buffer.from(JSON.stringify({ context, key: key.toString('base64') }));
          return { plaintext: Uint8Array.from(key), encrypted: Uint8Array.from(wrapped) };
        },
        options,
      ),
    decryptDataKey: (encrypted, context, options) =>
      step(
        'Decrypt',
        () => {
          const wrapped = JSON.parse(Buffer.from(encrypted).toString()) as { context: unknown; key: string };
          if (JSON.stringify(wrapped.context) !== JSON.stringify(context))
            throw Object.assign(new Error('encryption context mismatch'), {
              name: 'InvalidCiphertextException',
            });
          return Uint8Array.from(Buffer.from(wrapped.key, 'base64'));
        },
        options,
      ),
  };
}

import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { PreflightReport, PreflightRequest } from '#core/preflight/index.ts';
import { errorFromPayload } from '#core/token/index.ts';
import { TransientError } from '../../lambdas/core/errors.ts';
import { redact } from '../../lambdas/core/mask.ts';

export type AwsPreflightAnswer = PreflightReport & { requests?: number; ceiling?: unknown };

/**
 * Runs the preflight function of a deployed stack (`goal-sync preflight --stack`): it checks with the
 * pipeline's rights (the broker's token, the stack's hcmBaseUrl) and answers the check results only.
 */
export async function invokePreflight(
  lambda: LambdaClient,
  functionName: string,
  request: PreflightRequest,
): Promise<AwsPreflightAnswer> {
  const res = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(request)),
    }),
  );
  const text = res.Payload ? new TextDecoder().decode(res.Payload) : '';
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new TransientError(`the preflight function answered with non-JSON (${text.length} bytes)`);
  }
  if (res.FunctionError) {
    throw errorFromPayload(body && typeof body === 'object' ? body : {}, {
      connectionId: request.connectionId ?? '',
    });
  }
  const report = body as Partial<AwsPreflightAnswer>;
  if (!Array.isArray(report.checks) || typeof report.ok !== 'boolean') {
    throw new TransientError('the preflight function answered without check results');
  }
  // It never sends a token; a secret-looking field is masked all the same.
  return redact(report as Record<string, unknown>) as unknown as AwsPreflightAnswer;
}

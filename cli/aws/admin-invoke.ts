import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { type AdminRequest, errorFromPayload } from '#core/token/index.ts';
import { TransientError } from '../../lambdas/core/errors.ts';
import { redact } from '../../lambdas/core/mask.ts';

export type ConnectionAdminRequest = AdminRequest;

const decoder = new TextDecoder();

/**
 * Invokes the connection-admin function synchronously (`goal-sync connect`). It answers the
 * connection's state, never a token; every secret-looking field is masked all the same. A function
 * error comes back as the typed error the function threw.
 */
export async function invokeConnectionAdmin(
  lambda: LambdaClient,
  functionName: string,
  request: ConnectionAdminRequest,
): Promise<Record<string, unknown>> {
  const res = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(request)),
    }),
  );
  const text = res.Payload ? decoder.decode(res.Payload) : '';
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new TransientError(`the connection-admin function answered with non-JSON (${text.length} bytes)`);
  }
  if (res.FunctionError) throw errorFromPayload(body && typeof body === 'object' ? body : {}, request);
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new TransientError('the connection-admin function answered with a non-object payload');
  }
  return redact(body as Record<string, unknown>);
}

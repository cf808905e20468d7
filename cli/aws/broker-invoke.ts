import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { type BrokerRequest, errorFromPayload } from '#core/token/index.ts';
import { TransientError } from '../../lambdas/core/errors.ts';
import { redact } from '../../lambdas/core/mask.ts';

/** The broker actions the CLI sends (a subset of the token broker's request contract). */
export type CliBrokerRequest = Extract<BrokerRequest, { action: 'status' | 'connect' }>;

const decoder = new TextDecoder();

/**
 * Invokes the token broker synchronously and returns its answer with every secret field masked:
 * the CLI never needs a token, so none ever reaches its output. A function error comes back as
 * the typed error the broker threw (Lambda reports it as errorType/errorMessage).
 */
export async function invokeBroker(
  lambda: LambdaClient,
  functionName: string,
  request: CliBrokerRequest,
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
    throw new TransientError(`token broker answered with non-JSON (${text.length} bytes)`);
  }
  // A function error comes back as the typed error the broker threw (same mapping as the workers use).
  if (res.FunctionError) throw errorFromPayload(body && typeof body === 'object' ? body : {}, request);
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new TransientError('token broker answered with a non-object payload');
  }
  return redact(body as Record<string, unknown>);
}

/**
 * The connection's own fields from a broker answer: `status` answers `{connections: [view]}`,
 * `connect` answers the connection's fields directly.
 */
export function connectionFieldsOf(
  answer: Record<string, unknown>,
  connectionId: string,
): Record<string, unknown> | undefined {
  const list = answer.connections;
  if (Array.isArray(list)) {
    return list.find(
      (c): c is Record<string, unknown> => !!c && typeof c === 'object' && c.connectionId === connectionId,
    );
  }
  return answer;
}

export function connectionStatusOf(
  answer: Record<string, unknown>,
  connectionId: string,
): string | undefined {
  const status = connectionFieldsOf(answer, connectionId)?.status;
  return typeof status === 'string' ? status : undefined;
}

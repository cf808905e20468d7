import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import type { BrokerTransport } from '#core/token/index.ts';
import { type BrokerRequest, errorFromPayload, type FunctionErrorPayload } from '#core/token/index.ts';
import { asTransient } from '../../aws-errors.ts';
import { TransientError } from '../../errors.ts';

/**
 * Workers reach the TokenBroker Lambda with a synchronous Invoke. A function error comes back as
 * {errorType, errorMessage}; it is rethrown as the typed error of that name (ReauthRequiredError stays
 * ReauthRequiredError for the state machine's Catch).
 */
export class LambdaBrokerTransport implements BrokerTransport {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
  ) {}

  async call<T>(req: BrokerRequest): Promise<T> {
    let out: InvokeCommandOutput;
    try {
      out = await this.client.send(
        new InvokeCommand({
          FunctionName: this.functionName,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify(req)),
        }),
      );
    } catch (err) {
      throw asTransient(err, 'Lambda Invoke of the token broker');
    }
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    if (out.FunctionError) {
      throw errorFromPayload(parsePayload(text) as FunctionErrorPayload, 'connectionId' in req ? req : {});
    }
    const value = parsePayload(text);
    if (value === undefined) throw new TransientError('token broker answered with an empty payload');
    return value as T;
  }
}

function parsePayload(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { errorType: 'TransientError', errorMessage: 'token broker answered with unreadable JSON' };
  }
}

import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../lambdas/core/errors.ts';
import { lambdaContext } from '../../local/adapters/in-process-broker.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';

/** The AWS composition root, wired by environment only; DynamoDB is dynalite via the SDK's endpoint variable. */
let dynamo: TestDynamo;
const saved = { ...process.env };
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  process.env = saved;
  await dynamo.close();
});

describe('lambdas/token-broker/index.ts', () => {
  it('refuses to start without its configuration', async () => {
    delete process.env.CONNECTION_TABLE;
    await expect(import('../../lambdas/token-broker/index.ts')).rejects.toBeInstanceOf(ConfigError);
    // A module that failed to load is cached as failed: start from a clean registry.
    vi.resetModules();
  });

  it('builds the handler from the environment and serves status from DynamoDB', async () => {
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      CONNECTION_TABLE: dynamo.tables.connections,
      TOKEN_KMS_KEY_ID: 'alias/goal-sync-tokens',
      IDP_TOKEN_URL: 'https://idcs.example.com/oauth2/v1/token',
      EVENT_BUS_NAME: 'goal-sync',
      SCHEDULE_GROUP: 'goal-sync',
      SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/scheduler',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const { handler } = (await import('../../lambdas/token-broker/index.ts')) as {
      handler: (event: unknown, context: Context) => Promise<unknown>;
    };
    await expect(handler({ action: 'status' }, lambdaContext())).resolves.toEqual({ connections: [] });
    // (After resetModules the handler has its own copy of errors.ts: compare by name.)
    await expect(handler({ action: 'get' }, lambdaContext())).rejects.toMatchObject({ name: 'ConfigError' });
    await expect(handler({ action: 'get', connectionId: 'nope' }, lambdaContext())).rejects.toMatchObject({
      name: 'ConnectionNotFoundError',
    });
  });
});

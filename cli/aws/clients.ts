import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The SDK clients the AWS-mode commands use, all for one region. */
export interface AwsClients {
  cloudFormation: CloudFormationClient;
  sfn: SFNClient;
  dynamo: DynamoDBDocumentClient;
  secrets: SecretsManagerClient;
  lambda: LambdaClient;
  /** `start --upload` only. */
  s3: S3Client;
}

/**
 * Bounds on every AWS call the CLI makes: an endpoint that accepts a connection and never answers
 * must fail the command, not hang it. The SDK default has no request timeout at all. The broker
 * invoke (Lambda) may legitimately take a while (a refresh under a lease), hence its own budget.
 */
export interface AwsClientLimits {
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  lambdaRequestTimeoutMs: number;
  maxAttempts: number;
  /** Tests: a local endpoint instead of AWS (the SDK also honours AWS_ENDPOINT_URL). */
  endpoint?: string;
}

export const DEFAULT_AWS_LIMITS: AwsClientLimits = {
  connectionTimeoutMs: 5_000,
  requestTimeoutMs: 15_000,
  lambdaRequestTimeoutMs: 65_000,
  maxAttempts: 3,
};

/** The worst case of one call: every attempt times out (retry pauses are short next to these). */
export const worstCaseMs = (l: AwsClientLimits, lambda = false): number =>
  l.maxAttempts * ((lambda ? l.lambdaRequestTimeoutMs : l.requestTimeoutMs) + l.connectionTimeoutMs);

/**
 * Without `region` the SDK's default chain decides (AWS_REGION, the profile). Clients are created
 * lazily so a command only resolves configuration for the services it calls.
 */
export function createAwsClients(region?: string, limits: Partial<AwsClientLimits> = {}): AwsClients {
  const l = { ...DEFAULT_AWS_LIMITS, ...limits };
  const config = (requestTimeout: number) => ({
    ...(region ? { region } : {}),
    ...(l.endpoint ? { endpoint: l.endpoint } : {}),
    maxAttempts: l.maxAttempts,
    // throwOnRequestTimeout: without it this SDK only logs a warning when requestTimeout passes.
    requestHandler: { connectionTimeout: l.connectionTimeoutMs, requestTimeout, throwOnRequestTimeout: true },
  });
  const cache: Partial<AwsClients> = {};
  const lazy = <K extends keyof AwsClients>(key: K, make: () => AwsClients[K]): AwsClients[K] => {
    cache[key] ??= make();
    return cache[key] as AwsClients[K];
  };
  return {
    get cloudFormation() {
      return lazy('cloudFormation', () => new CloudFormationClient(config(l.requestTimeoutMs)));
    },
    get sfn() {
      return lazy('sfn', () => new SFNClient(config(l.requestTimeoutMs)));
    },
    get dynamo() {
      return lazy('dynamo', () =>
        DynamoDBDocumentClient.from(new DynamoDBClient(config(l.requestTimeoutMs)), {
          unmarshallOptions: { wrapNumbers: false },
        }),
      );
    },
    get secrets() {
      return lazy('secrets', () => new SecretsManagerClient(config(l.requestTimeoutMs)));
    },
    get lambda() {
      return lazy('lambda', () => new LambdaClient(config(l.lambdaRequestTimeoutMs)));
    },
    // requestTimeout is the socket's idle time, so a large upload that keeps sending is not cut off.
    get s3() {
      return lazy('s3', () => new S3Client(config(l.requestTimeoutMs)));
    },
  };
}

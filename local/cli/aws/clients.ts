import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
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
}

/**
 * Without `region` the SDK's default chain decides (AWS_REGION, the profile). Clients are created
 * lazily so a command only resolves configuration for the services it calls.
 */
export function createAwsClients(region?: string): AwsClients {
  const config = region ? { region } : {};
  const cache: Partial<AwsClients> = {};
  const lazy = <K extends keyof AwsClients>(key: K, make: () => AwsClients[K]): AwsClients[K] => {
    cache[key] ??= make();
    return cache[key] as AwsClients[K];
  };
  return {
    get cloudFormation() {
      return lazy('cloudFormation', () => new CloudFormationClient(config));
    },
    get sfn() {
      return lazy('sfn', () => new SFNClient(config));
    },
    get dynamo() {
      return lazy('dynamo', () =>
        DynamoDBDocumentClient.from(new DynamoDBClient(config), {
          unmarshallOptions: { wrapNumbers: false },
        }),
      );
    },
    get secrets() {
      return lazy('secrets', () => new SecretsManagerClient(config));
    },
    get lambda() {
      return lazy('lambda', () => new LambdaClient(config));
    },
  };
}

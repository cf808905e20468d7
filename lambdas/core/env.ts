import { ConfigError } from './errors.ts';

/** Environment variable names: the stack sets them, the handlers' composition roots read them. */
export const ENV = {
  connectionTable: 'CONNECTION_TABLE',
  checkpointTable: 'CHECKPOINT_TABLE',
  kmsKeyId: 'TOKEN_KMS_KEY_ID',
  eventBusName: 'EVENT_BUS_NAME',
  scheduleGroup: 'SCHEDULE_GROUP',
  schedulerRoleArn: 'SCHEDULER_ROLE_ARN',
  tokenBrokerFunction: 'TOKEN_BROKER_FUNCTION',
  brokerFunctionArn: 'TOKEN_BROKER_FUNCTION_ARN',
  hcmBaseUrl: 'HCM_BASE_URL',
  /** The stack's IdP token endpoint: the only place the broker sends a connection's credentials. */
  idpTokenUrl: 'IDP_TOKEN_URL',
  /** A connection's secret is <prefix><connectionId> (the connection-admin function's only secrets). */
  connectionSecretPrefix: 'CONNECTION_SECRET_PREFIX',
  connectionId: 'CONNECTION_ID',
  sourceBucket: 'SOURCE_BUCKET',
  tokenBufferSeconds: 'TOKEN_BUFFER_SECONDS',
  chunkConcurrency: 'CHUNK_CONCURRENCY',
  /** Records in flight at once inside one sync-chunk invocation (default 8). */
  recordConcurrency: 'RECORD_CONCURRENCY',
  /** Bucket plan-sync writes every run's chunk list to (the Distributed Map's S3 ItemReader input). */
  manifestBucket: 'MANIFEST_BUCKET',
  /** Runs of more chunks take the Distributed Map; `0` (the distributedMap context flag) forces it. */
  mapThreshold: 'MAP_THRESHOLD',
  /**
   * The most token-broker instances that can send token requests at once (the broker's reserved
   * concurrency, plus the connection-admin function's connect): each one's share of the fail-soft pace
   * while the token-endpoint limiter's items are throttled, so the fleet stays within it.
   */
  tokenEndpointInstances: 'TOKEN_ENDPOINT_INSTANCES',
  /** `stream`: the connection table's stream drains the broker's outbox (default `inline`). */
  outboxRelay: 'OUTBOX_RELAY',
  /** The plan-wide read of existing goals (goal-index.ts): page size (default 500) and the smallest run that uses it. */
  goalIndexPageSize: 'GOAL_INDEX_PAGE_SIZE',
  goalIndexMinRecords: 'GOAL_INDEX_MIN_RECORDS',
  /** The tenant's status / category / percent codes (JSON of hcm/mapping-config.ts GoalMapping). */
  goalMapping: 'GOAL_MAPPING',
  /** The stack's HCM request ceiling (requests per second, every container together). */
  hcmMaxRequestsPerSecond: 'HCM_MAX_REQUESTS_PER_SECOND',
  /** The most HCM-calling containers that run at once (plan-sync + chunkConcurrency): the fail-soft share. */
  hcmMaxContainers: 'HCM_MAX_CONTAINERS',
  /** HCM Data Loader (issue 24): the SourceSystemOwner (lookup HRC_SOURCE_SYSTEM_OWNER); unset: no HDL. */
  hdlSourceSystemOwner: 'HDL_SOURCE_SYSTEM_OWNER',
  /** Records per Goal.dat part (default 10,000). */
  hdlRecordsPerFile: 'HDL_RECORDS_PER_FILE',
  /** writeMode auto takes HDL above this many records to write (default 2,000). */
  hdlThreshold: 'HDL_THRESHOLD',
  /** The state machine's timeout (seconds): plan-sync estimates whether a REST run fits in it (run-estimate.ts). */
  executionTimeoutSeconds: 'EXECUTION_TIMEOUT_SECONDS',
  /** How long an unclear POST keeps its unseen record `unsettled` before it is created again (ms; default 24 h). */
  settleHorizonMs: 'SETTLE_HORIZON_MS',
  /** The sync state machine the schedule starter starts executions of. */
  stateMachineArn: 'STATE_MACHINE_ARN',
} as const;

export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is required`);
  return value;
}

export function numberEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new ConfigError(`environment variable ${name} must be a number`);
  return value;
}

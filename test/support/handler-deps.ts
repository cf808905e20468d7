import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { TestDynamo } from './dynalite.ts';

/**
 * What every sync handler (plan, chunk, finish) is built with in a test: the dynalite checkpoint
 * table, a silent logger, and metrics writing through it (so "no metrics to publish" stays quiet).
 */
export function silentHandlerDeps(dynamo: TestDynamo) {
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  return {
    doc: dynamo.doc,
    checkpointTable: dynamo.tables.checkpoints,
    logger,
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test', logger }),
  };
}

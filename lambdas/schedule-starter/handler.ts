import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  type ExecutionStarter,
  parseScheduledStart,
  type ScheduledStartResult,
  startScheduledRun,
} from '#core/sync/index.ts';

/** Powertools service name (infra/metrics.ts SERVICE_NAMES.scheduleStarter); it emits no metrics. */
export const SERVICE_NAME = 'schedule-starter';

export interface ScheduleStarterDeps {
  starter: ExecutionStarter;
  logger: Logger;
}

/**
 * schedule-starter: the nightly and verify schedules' target. {kind, scheduledTime, input} -> one
 * execution named `<kind>-YYYYMMDDTHHMMZ` (invariant 11). A redelivery finds the name taken and ends
 * normally; any other failure is thrown, so Scheduler retries it and then parks it in the DLQ.
 */
export function createScheduleStarterHandler(deps: ScheduleStarterDeps) {
  return middy(async (event: unknown, _context: Context): Promise<ScheduledStartResult> => {
    const out = await startScheduledRun(parseScheduledStart(event), deps.starter);
    deps.logger.info(out.started ? 'scheduled run started' : 'scheduled run already has its execution', {
      runId: out.runId,
      ...(out.executionArn ? { executionArn: out.executionArn } : {}),
    });
    return out;
  }).use(injectLambdaContext(deps.logger));
}

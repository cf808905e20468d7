import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { ExecutionStarter } from '#core/sync/index.ts';

/** StartExecution of a named execution: the schedule starter's (the run id) and finish-sync's (a run's continuation, `<runId>--<n>`). */
export class SfnExecutionStarter implements ExecutionStarter {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, input: string): Promise<{ executionArn?: string; alreadyExists: boolean }> {
    try {
      const out = await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input }),
      );
      return { ...(out.executionArn ? { executionArn: out.executionArn } : {}), alreadyExists: false };
    } catch (err) {
      // The name is taken: this run has (or had) its execution. Step Functions keeps closed executions'
      // names for 90 days, longer than any redelivery (Scheduler gives up after an hour).
      if (err instanceof Error && err.name === 'ExecutionAlreadyExists') return { alreadyExists: true };
      throw err;
    }
  }
}

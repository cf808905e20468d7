import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { invoke, STATE_NAMES, type SyncFunctions } from './state-machine-parts.ts';

/** What every HDL step gets: references only; its state is in the checkpoint table and object store. */
function hdlPayload(step: string, extra: Record<string, unknown> = {}): sfn.TaskInput {
  return sfn.TaskInput.fromObject({
    step,
    runId: sfn.JsonPath.stringAt('$.runId'),
    connectionId: sfn.JsonPath.stringAt('$.connectionId'),
    attempt: sfn.JsonPath.numberAt('$.attempt'),
    chunkSize: sfn.JsonPath.numberAt('$.chunkSize'),
    source: sfn.JsonPath.objectAt('$.source'),
    // The run generation: each step renews the lease under it and fences every data set it creates.
    generation: sfn.JsonPath.numberAt('$.generation'),
    ...extra,
  });
}

/**
 * HdlBuildParts -> HdlSubmitParts -> HdlPollParts, looping through a Wait while data sets load (no
 * Lambda sleeps: the wait grows per round up to minutes, hdl-submit.ts) -> HdlRecordOutcomes -> `then`.
 */
export function hdlBranch(
  scope: Construct,
  fns: SyncFunctions,
  then: sfn.IChainable,
  caught: (task: sfn.TaskStateBase) => sfn.TaskStateBase,
): sfn.IChainable {
  const build = caught(
    invoke(scope, STATE_NAMES.hdlBuild, fns.hdl, { payload: hdlPayload('build'), resultPath: '$.hdlBuild' }),
  );
  const submit = caught(
    invoke(scope, STATE_NAMES.hdlSubmit, fns.hdl, { payload: hdlPayload('submit'), resultPath: '$.hdlPoll' }),
  );
  const poll = caught(
    invoke(scope, STATE_NAMES.hdlPoll, fns.hdl, {
      payload: hdlPayload('poll', { round: sfn.JsonPath.numberAt('$.hdlPoll.round') }),
      resultPath: '$.hdlPoll',
    }),
  );
  const record = caught(
    invoke(scope, STATE_NAMES.hdlRecord, fns.hdl, {
      payload: hdlPayload('record'),
      resultPath: '$.hdlOutcome',
    }),
  );
  const wait = new sfn.Wait(scope, STATE_NAMES.hdlWait, {
    time: sfn.WaitTime.secondsPath('$.hdlPoll.waitSeconds'),
  });
  const status = new sfn.Choice(scope, STATE_NAMES.hdlStatus)
    .when(sfn.Condition.numberGreaterThan('$.hdlPoll.pending', 0), wait.next(poll))
    .otherwise(record.next(then));
  return build.next(submit).next(poll).next(status);
}

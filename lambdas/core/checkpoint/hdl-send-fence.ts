import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unlessConditionFails } from '../aws-errors.ts';
import { RunLeaseLostError } from '../errors.ts';
import { type Clock, systemClock } from '../ports.ts';
import { RunLease, runLeaseKey } from './run-lease.ts';

/**
 * The mark an HDL send leaves on the connection's RUNLEASE item (guard H2, docs/invariants.md): which
 * run, at which generation, is about to send which part, and until when its request may still reach
 * Oracle. Written under the condition that the run still holds the connection at that generation, so
 * a part of a superseded take of the lease is refused before it leaves (RunLeaseLostError).
 */
export interface HdlSendMark {
  runId: string;
  generation: number;
  part: string;
  /**
   * Epoch ms after which no request of this mark can still reach Oracle: the marking invocation's end
   * (Lambda's timeout: nothing leaves after it) plus `lateAcceptMs` for a request already on the wire.
   */
  until: number;
}

export interface HdlSendFenceOptions {
  clock?: Clock;
  /** Epoch ms when this invocation is cut off (now + context.getRemainingTimeInMillis()). */
  invocationEndsAt: () => number;
  /**
   * How long after it left a createFileDataSet request may still be taken by Oracle (default 5 min).
   * Assumed, not documented by Oracle (docs/hdl.md): the REST path assumes no bound and fences late
   * writes by ETag, which HDL has no equivalent of.
   */
  lateAcceptMs?: number;
}

export const HDL_LATE_ACCEPT_DEFAULT_MS = 5 * 60_000;

export class HdlSendFence {
  private readonly lease: RunLease;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly scope: { connectionId: string; runId: string; generation: number },
    private readonly options: HdlSendFenceOptions,
  ) {
    this.lease = new RunLease(doc, table, { clock: options.clock ?? systemClock });
  }

  /**
   * The mark of an earlier take of the lease (another run's, or this run's before a resume), if the
   * lease item holds one: its request may still be on its way, or its data set still loading.
   */
  async earlierMark(): Promise<HdlSendMark | undefined> {
    const item = (await this.lease.get(this.scope.connectionId)) as { hdlSend?: HdlSendMark } | undefined;
    const mark = item?.hdlSend;
    return mark !== undefined && mark.generation < this.scope.generation ? mark : undefined;
  }

  /**
   * Marks the send of `part` under this run's generation (RunLeaseLostError when the run no longer
   * holds the connection at it): called right before every createFileDataSet request.
   */
  async beforeSend(part: string): Promise<void> {
    const late = this.options.lateAcceptMs ?? HDL_LATE_ACCEPT_DEFAULT_MS;
    await this.mark({ ...this.scope, part, until: this.options.invocationEndsAt() + late });
  }

  private async mark(mark: HdlSendMark): Promise<void> {
    const { connectionId, runId, generation } = this.scope;
    const marked = await unlessConditionFails('DynamoDB UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: runLeaseKey(connectionId),
          ConditionExpression: 'runId = :run AND generation = :gen',
          UpdateExpression: 'SET hdlSend = :mark',
          ExpressionAttributeValues: { ':run': runId, ':gen': generation, ':mark': mark },
        }),
      ),
    );
    if (marked === undefined) {
      const holder = await this.lease.get(connectionId);
      throw new RunLeaseLostError(connectionId, runId, holder?.runId, generation, holder?.generation);
    }
  }
}

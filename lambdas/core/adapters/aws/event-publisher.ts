import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { asTransient } from '../../aws-errors.ts';
import { TransientError } from '../../errors.ts';
import { redact } from '../../mask.ts';
import type { EventPublisher, EventType } from '../../ports.ts';

export const EVENT_SOURCE = 'hcm-goal-sync';

/** EventBridge PutEvents; details are redacted once more here, whatever the caller passed. */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: { eventBusName: string; source?: string },
  ) {}

  async publish(type: EventType, detail: Record<string, unknown>): Promise<void> {
    let failed: number | undefined;
    let errorCode: string | undefined;
    try {
      const out = await this.client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: this.options.eventBusName,
              Source: this.options.source ?? EVENT_SOURCE,
              DetailType: type,
              Detail: JSON.stringify(redact(detail)),
            },
          ],
        }),
      );
      failed = out.FailedEntryCount;
      errorCode = out.Entries?.[0]?.ErrorCode;
    } catch (err) {
      throw asTransient(err, 'EventBridge PutEvents');
    }
    // PutEvents answers 200 with per-entry failures (throttling, internal): surface them.
    if (failed) throw new TransientError(`EventBridge rejected event ${type} (${errorCode ?? 'unknown'})`);
  }
}

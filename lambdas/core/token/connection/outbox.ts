import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { redact } from '../../mask.ts';
import { type Clock, type EventPublisher, type EventType, systemClock } from '../../ports.ts';
import { protocolGuards } from '../../protocol-guards.ts';
import { describe } from '../telemetry.ts';
import type { OutboxEvent } from './connection-item.ts';
import type { ConnectionStore } from './connection-store.ts';

/**
 * `inline`: the broker drains right after the transition (the laptop, and AWS without a stream).
 * `stream`: the connection table's DynamoDB stream drives the drain (the deployed stack).
 */
export type OutboxRelay = 'inline' | 'stream';

/** A transition's event, with the stable id consumers deduplicate on (delivery is at least once). */
export function outboxEvent(
  type: EventType,
  connectionId: string,
  detail: Record<string, unknown>,
  now: number,
): OutboxEvent {
  const eventId = `${connectionId}:${type}:${randomUUID()}`;
  // Redacted before it is stored: the outbox lives in the item, and a reason may quote upstream text.
  return { eventId, type, detail: redact({ ...detail, connectionId, eventId }), at: now };
}

/** How long a drainer's claim on the head event holds: longer than a PutEvents call with its retries. */
const PUBLISH_CLAIM_MS = 30_000;

/**
 * Transactional outbox (invariant 5): a status transition writes its event into the connection item in
 * the same conditional write, so the event exists iff the transition happened. Draining claims the head
 * event (conditioned on its id and no other live claim), publishes it, then removes it: two overlapping
 * drainers publish it once; a crash between the put and the removal republishes it with the same id after
 * the claim lapses (PutEvents has no idempotency key: consumers deduplicate on eventId), never loses it. Who drains (`OutboxRelay`): in AWS the connection table's stream invokes the
 * broker for every written item (outbox-stream.ts), so the transition's own Lambda does not also race it;
 * on the laptop (dynalite has no streams) the broker drains right after the transition. Either way the
 * sweeper drains whatever is left.
 */
export class Outbox {
  constructor(
    private readonly store: ConnectionStore,
    private readonly events: EventPublisher,
    private readonly logger: Logger,
    private readonly relayedBy: OutboxRelay = 'inline',
    private readonly clock: Clock = systemClock,
  ) {}

  /** Right after a transition wrote its event: drained here only when no stream relay does it. */
  async afterTransition(connectionId: string): Promise<void> {
    if (this.relayedBy === 'inline') await this.drainQuietly(connectionId);
  }

  /** Publishes every pending event of the connection in order; returns how many were published. */
  drain(connectionId: string): Promise<number> {
    return this.publishPending(connectionId, 'leave');
  }

  /**
   * The stream relay's drain: a failed publish throws, so the stream retries the record (the event
   * stays in the item either way, and the sweeper is the last resort).
   */
  relay(connectionId: string): Promise<number> {
    return this.publishPending(connectionId, 'throw');
  }

  private async publishPending(connectionId: string, onFailure: 'leave' | 'throw'): Promise<number> {
    let published = 0;
    for (let guard = 0; guard < 20; guard++) {
      const item = await this.store.get(connectionId);
      if (!item) return published;
      const head = item.outbox[0];
      if (!head) {
        if (published > 0) await this.store.settleDue(item);
        return published;
      }
      // Another drainer (the transition's own, a sweep, a stream batch) is publishing it right now.
      const until = this.clock.now() + PUBLISH_CLAIM_MS;
      if (
        protocolGuards.outboxClaimBeforePublish &&
        !(await this.store.claimOutboxHead(connectionId, head.eventId, this.clock.now(), until))
      )
        return published;
      try {
        await this.events.publish(head.type, { ...head.detail, at: new Date(head.at).toISOString() });
      } catch (err) {
        // Stays in the outbox: a stream retry or the next sweep delivers it (the claim given back, or lapsed).
        await this.store.releaseOutboxClaim(connectionId, head.eventId, until).catch(() => undefined);
        this.logger.error('event publish failed; left in the outbox', {
          type: head.type,
          error: describe(err),
        });
        if (onFailure === 'throw') throw err;
        return published;
      }
      published++;
      await this.store.removeOutboxHead(connectionId, head.eventId);
    }
    return published;
  }

  /** Never fails the token flow that caused the event. */
  async drainQuietly(connectionId: string): Promise<void> {
    await this.drain(connectionId).catch((err: unknown) =>
      this.logger.error('outbox drain failed', { connectionId, error: describe(err) }),
    );
  }
}

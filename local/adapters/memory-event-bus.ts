import { redact } from '../../lambdas/core/mask.ts';
import type { EventPublisher, EventType } from '../../lambdas/core/ports.ts';

export interface RecordedEvent {
  type: EventType;
  detail: Record<string, unknown>;
  at: number;
}

export type EventListener = (event: RecordedEvent) => void;

/** The laptop's EventBridge: records every event (redacted, like the AWS adapter) and tells listeners. */
export class MemoryEventBus implements EventPublisher {
  readonly events: RecordedEvent[] = [];
  private readonly listeners = new Set<EventListener>();

  async publish(type: EventType, detail: Record<string, unknown>): Promise<void> {
    const event: RecordedEvent = { type, detail: redact(detail), at: Date.now() };
    this.events.push(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not fail the publisher, as with a real bus.
      }
    }
  }

  /** Subscribes; returns the unsubscribe function. */
  on(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  ofType(type: EventType): RecordedEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  clear(): void {
    this.events.length = 0;
  }
}

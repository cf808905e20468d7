import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Clock, systemClock } from '../ports.ts';

/** How long run-scoped checkpoint items live after the latest attempt touched them (DynamoDB TTL). */
export const DEFAULT_RETENTION_DAYS = 30;

/** The TTL attribute value (epoch seconds) for an item written at `nowMs`. The ledger has none. */
export function ttlSeconds(nowMs: number, retentionDays = DEFAULT_RETENTION_DAYS): number {
  return Math.floor(nowMs / 1000) + retentionDays * 86_400;
}

/** A store of run-scoped items: its table, its clock, and how long what it writes lives. */
export abstract class RunScopedStore {
  protected readonly clock: Clock;
  protected readonly retentionDays: number;

  constructor(
    protected readonly doc: DynamoDBDocumentClient,
    protected readonly table: string,
    options: { clock?: Clock; retentionDays?: number } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  }
}

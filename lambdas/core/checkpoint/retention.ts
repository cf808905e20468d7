/** How long run-scoped checkpoint items live after the latest attempt touched them (DynamoDB TTL). */
export const DEFAULT_RETENTION_DAYS = 30;

/** The TTL attribute value (epoch seconds) for an item written at `nowMs`. The ledger has none. */
export function ttlSeconds(nowMs: number, retentionDays = DEFAULT_RETENTION_DAYS): number {
  return Math.floor(nowMs / 1000) + retentionDays * 86_400;
}

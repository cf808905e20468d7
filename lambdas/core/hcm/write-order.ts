import { protocolGuards } from '../protocol-guards.ts';
import type { WriteGuard } from './port.ts';

/** A token wait longer than this (a refresh, a lease wait) is followed by a second claim check (pre-fix order only). */
const GUARD_RECHECK_AFTER_MS = 250;

/**
 * What happens right before a write request leaves: the token first, then the claim's renewal (the
 * guard), then nothing but the send. A token that cannot be had therefore fails before the guard has
 * marked the record "write in progress" (invariant 7: a record is marked only when a request leaves);
 * a token is good for minutes past its buffer, so the renewal's round trip does not age it.
 */
export async function tokenThenGuard<T>(
  getToken: () => Promise<T>,
  guard: WriteGuard | undefined,
): Promise<T> {
  if (!protocolGuards.markOnlyWhenSent) return guardThenToken(getToken, guard);
  const token = await getToken();
  if (guard) await guard();
  return token;
}

/** Mutation O8 only: the pre-fix order, which marked the record before the token was in hand. */
async function guardThenToken<T>(getToken: () => Promise<T>, guard: WriteGuard | undefined): Promise<T> {
  if (guard) await guard();
  const asked = Date.now();
  const token = await getToken();
  if (guard && Date.now() - asked > GUARD_RECHECK_AFTER_MS) await guard();
  return token;
}

/**
 * The public surface of `lease/`: what code outside this folder may import (a test enforces it).
 * Everything else in the folder is internal.
 */
export type { LeaseResult } from './lease.ts';
export { ConnectionLease, DEFAULT_LEASE_MS, newLeaseOwner } from './lease.ts';

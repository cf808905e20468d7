/** What one pass over a chunk did. Every record of the chunk lands in exactly one of the first nine. */
export interface ChunkCounts {
  created: number;
  updated: number;
  unchanged: number;
  reconciled: number;
  /** Done before this pass (earlier pass, attempt or crash): skipped without an HCM call. */
  alreadyDone: number;
  invalid: number;
  /** Failed in this pass (HCM refused the record: 4xx other than 401). */
  failed: number;
  /** Failed earlier in this run attempt: skipped, retried only by a later attempt (a resume). */
  alreadyFailed: number;
  /** Not settled by this pass: time budget ran out, another worker holds the claim, or the pass aborted. */
  remaining: number;
  /** Of `remaining`: writes whose outcome was unclear; they wait to be visible, then are reconciled. */
  unclearWrites: number;
  /** Calls this pass made to the HCM port (finders + writes); the client's own retries are not in here. */
  hcmRequests: number;
  /**
   * Verify pass only (not part of the nine above): goals the ledger calls written that the plan-time
   * listing did not show (deleted or renamed in HCM), that it showed with other content, and how many
   * of those this pass wrote back (created again or corrected).
   */
  verifyMissing: number;
  verifyDrifted: number;
  verifyRepaired: number;
}

export function emptyCounts(): ChunkCounts {
  return {
    created: 0,
    updated: 0,
    unchanged: 0,
    reconciled: 0,
    alreadyDone: 0,
    invalid: 0,
    failed: 0,
    alreadyFailed: 0,
    remaining: 0,
    unclearWrites: 0,
    hcmRequests: 0,
    verifyMissing: 0,
    verifyDrifted: 0,
    verifyRepaired: 0,
  };
}

export function addCounts(a: ChunkCounts, b: ChunkCounts): ChunkCounts {
  const out = emptyCounts();
  // `?? 0`: a count object written before a field existed (a stored result) still adds up.
  for (const key of Object.keys(out) as Array<keyof ChunkCounts>) out[key] = (a[key] ?? 0) + (b[key] ?? 0);
  return out;
}

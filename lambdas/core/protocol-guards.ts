/**
 * Mutation switches, one per guard that closes a known race window (docs/invariants.md, "Known windows").
 * Production never changes them. The interleaving suite's mutation check (test/interleaving/mutation.test.ts)
 * turns one off at a time to prove that its properties catch the window the guard closes: a property suite
 * that cannot find a known bug proves nothing.
 */
export const protocolGuards = {
  /** B1: the lease is extended after the grant returns, and every call under it ends before it lapses. */
  leaseBoundCommit: true,
  /** B2: a durable in-flight marker is written before a refresh_token request; a stale one is never resent. */
  inFlightMarker: true,
  /** B3: a lost token response keeps the marker until needs_reauth is durably written. */
  unknownOutcomeKeepsMarker: true,
  /** B4: a failed commit writes needs_reauth while still holding the lease (owner- and status-conditioned). */
  commitFailureUnderLease: true,
  /** B5: both data keys of the commit are fetched before the send, so KMS cannot fail between answer and commit. */
  keysBeforeSend: true,
  /** B6: the commit is retried past the lease until it lands or another owner fences it out. */
  commitPersistsPastLease: true,
  /**
   * B7: the rate slot is taken before the in-flight marker is written, and nothing waits between the
   * marker and the send: a holder that dies waiting for its slot leaves no "outcome unknown" behind.
   */
  slotBeforeMarker: true,
  /**
   * B8: for a rotating grant, a 5xx other than a 503 with Retry-After (and a 408) may come from a gateway
   * after the IdP rotated: outcome unknown, never resent (the pre-fix client took it as nothing consumed).
   */
  unknownStatusNotResent: true,
  /** E1: a drainer claims the outbox head (conditioned on no live claim) before it publishes it. */
  outboxClaimBeforePublish: true,
  /** O1: a write whose outcome is unclear is not repeated in the same pass; the next claimant looks first. */
  noRepeatAfterUnclearWrite: true,
  /** O2: the claim is renewed and checked right before every write request. */
  claimCheckedBeforeWrite: true,
  /** O3: claims of other invocations of the same run (a retry, a resumed attempt) expire, never taken early. */
  noTakeoverWithinRun: true,
  /** O4: claims are per connection: a second run of the connection waits for the first one's claims. */
  noTakeoverAcrossRuns: true,
  /**
   * O5: a record whose ledger shows a write that may have committed (writeStartedAt, ambiguous) is
   * looked up live in HCM, never in the plan-time goal index, which may predate that write.
   */
  liveLookupAfterWriteTrace: true,
  /**
   * H1: before an HDL part is (re)submitted, its data set is looked up by its deterministic name, so a
   * lost createFileDataSet answer or a crash before the RequestId was stored never loads the part twice.
   */
  hdlLookupBeforeResubmit: true,
  /**
   * H2: every createFileDataSet is preceded by a mark on the RUNLEASE item conditioned on this run's
   * generation (a superseded take is refused before its part leaves), and a take of the lease that
   * finds an earlier take's mark submits nothing until that invocation has ended and its data set, if
   * any, has loaded: a part of an older run is never sent, nor loaded, after a newer run's.
   */
  hdlSendUnderRunGeneration: true,
  /**
   * O6: a POST whose outcome stayed unclear is not sent again while its goal may still land: a read that
   * does not see it leaves the record `unsettled` until the settle horizon, whatever the visibility wait.
   */
  noPostWhileUnclear: true,
  /**
   * O7: every PATCH carries the goal's ETag as If-Match (the ledger's, or a read's after an unclear
   * write or a 412), so a late PATCH can never overwrite content written after it.
   */
  ifMatchOnEveryPatch: true,
  /**
   * O8: the token is taken before the claim is renewed for a write, and a renewal that came too late
   * puts the marks back: a record is marked "write in progress" only when a request leaves.
   */
  markOnlyWhenSent: true,
  /**
   * O9: every take of the run lease increments the connection's run generation; claims, write-guard
   * checks and commits require the pass's generation, so a pass of a released or superseded run (an
   * orphan of an aborted execution) is refused at its next claim or write.
   */
  runGenerationFence: true,
  /**
   * O10: a goal's absence from a plan listing read by offset is no evidence (a delete and an add
   * between two pages shift a goal out of both with the count intact): a record not found there gets a
   * live finder before a POST. A listing read by key cannot skip, and its absence stands.
   */
  liveFinderAfterOffsetListing: true,
  /**
   * O11: a scheduled run's execution is named after its run id, so a redelivered trigger is an
   * idempotent StartExecution (or ExecutionAlreadyExists once it closed), never a second execution that
   * resumes the run in parallel or after it completed.
   */
  executionNamedAfterRun: true,
};

export type ProtocolGuard = keyof typeof protocolGuards;

import type { CallOptions, KeyProvider } from '../../lambdas/core/ports.ts';

/**
 * KMS in a brownout, in front of the fixture's keys: every call takes `latencyMs`, and GenerateDataKey
 * requests made before `lostUntil` are never answered (they hang until the caller aborts them).
 */
export class BrownoutKms implements KeyProvider {
  latencyMs = 0;
  lostUntil = 0;
  readonly lost: number[] = [];
  constructor(private readonly inner: KeyProvider) {}
  get keyId(): string {
    return this.inner.keyId;
  }
  async generateDataKey(context: Record<string, string>, options?: CallOptions) {
    if (Date.now() < this.lostUntil) {
      this.lost.push(Date.now());
      await delay(Number.POSITIVE_INFINITY, options);
    }
    await delay(this.latencyMs, options);
    return this.inner.generateDataKey(context, options);
  }
  async decryptDataKey(encrypted: Uint8Array, context: Record<string, string>, options?: CallOptions) {
    await delay(this.latencyMs, options);
    return this.inner.decryptDataKey(encrypted, context, options);
  }
}

/** Waits `ms` (forever if infinite) unless the call is aborted first, as an SDK call would. */
function delay(ms: number, options?: CallOptions): Promise<void> {
  const signal = options?.abortSignal;
  signal?.throwIfAborted();
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

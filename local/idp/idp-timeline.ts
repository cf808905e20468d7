import { PerSecondCounts, Ring } from '../timeline/per-second.ts';
import type { IdpTimeline, IssuedTokenEvent } from '../timeline/types.ts';

/** Issued access tokens (bounded ring) and token endpoint answers per second, for the report's charts. */
export class IdpTimelineRecorder {
  private readonly tokens = new Ring<IssuedTokenEvent>();
  private readonly answers = new PerSecondCounts();

  issued(token: IssuedTokenEvent): void {
    this.tokens.push(token);
  }

  answered(atMs: number, status: number): void {
    this.answers.add(atMs, String(status));
  }

  snapshot(): IdpTimeline {
    return {
      tokens: this.tokens.values(),
      droppedTokens: this.tokens.dropped,
      requests: this.answers.entries().map(({ second, key, n }) => ({ second, status: Number(key), n })),
      droppedSeconds: this.answers.droppedSeconds,
    };
  }

  reset(): void {
    this.tokens.clear();
    this.answers.clear();
  }
}

/** What oidc-provider hands to its `*.issued` / `*.saved` listeners, as far as the timeline reads it. */
export interface IssuedModel {
  iat?: number;
  exp?: number;
  expiration?: number;
  gty?: string;
}

/** The lifetime of an issued access token from its model; undefined if the model carries no times. */
export function issuedEvent(
  model: IssuedModel,
  atMs: number,
  fallbackGrant: string,
): IssuedTokenEvent | undefined {
  const iat = typeof model.iat === 'number' ? model.iat : Math.floor(atMs / 1000);
  const exp =
    typeof model.exp === 'number'
      ? model.exp
      : typeof model.expiration === 'number'
        ? iat + model.expiration
        : undefined;
  if (exp === undefined) return undefined;
  // oidc-provider appends each grant that led to a token: "authorization_code refresh_token".
  return { atMs, iat, exp, grant: model.gty?.split(' ').at(-1) || fallbackGrant };
}

/**
 * What the simulators record over time for the run report's charts (local/charts/). Times are epoch
 * seconds (buckets) or epoch milliseconds (`atMs`), so timelines of two processes line up.
 */

/** HCM API requests answered in one second, by route, status and the token they carried. */
export interface HcmRequestBucket {
  second: number;
  /** e.g. `POST goals`, `GET goals`, `PATCH goal`. */
  route: string;
  /** HTTP status sent; 0 when the simulator dropped the connection instead of answering. */
  status: number;
  /** The `iat` of the bearer token (also of a rejected one), or null without a readable token. */
  tokenIat: number | null;
  n: number;
}

export interface HcmTimeline {
  requests: HcmRequestBucket[];
  /** Goals created or changed in the store per second (late commits included, when they land). */
  writes: Array<{ second: number; n: number }>;
  droppedSeconds: number;
}

/** One access token the IdP issued: the bar of its lifetime. */
export interface IssuedTokenEvent {
  atMs: number;
  /** JWT `iat` and `exp` (epoch seconds). */
  iat: number;
  exp: number;
  /** refresh_token, client_credentials, urn:...:jwt-bearer, authorization_code. */
  grant: string;
}

export interface IdpTimeline {
  tokens: IssuedTokenEvent[];
  droppedTokens: number;
  /** Token endpoint answers per second by status (0: issued, then the answer was dropped). */
  requests: Array<{ second: number; status: number; n: number }>;
  droppedSeconds: number;
}

import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConfigError, ConnectionNotFoundError } from '../../lambdas/core/errors.ts';
import type { ConnectionSecret, GrantType } from '../../lambdas/core/ports.ts';
import { CONNECTION_TABLE } from '../../lambdas/core/tables.ts';
import type { LocalTokenBroker } from '../adapters/in-process-broker.ts';
import { DEFAULT_SCOPE } from '../constants.ts';
import type { IdpPeer } from './peers.ts';

export const LOCAL_CONNECTION_ID = 'oracle-hcm';
const secretIdFor = (connectionId: string) => `goal-sync/connections/${connectionId}`;

/**
 * Makes sure the connection exists and is active. A new or `needs_reauth` connection is connected the
 * way a human would with `goal-sync connect`: a fresh refresh token from the IdP (here the simulator
 * mints it instead of a browser login) goes into the secret, and the broker takes it from there.
 */
export async function ensureConnection(
  broker: LocalTokenBroker,
  idp: IdpPeer,
  connectionId = LOCAL_CONNECTION_ID,
  grant: GrantType = 'refresh_token',
): Promise<'existing' | 'connected' | 'reconnected'> {
  const current = await connectionStatus(broker, connectionId);
  if (current === 'active') return 'existing';
  const secretId = secretIdFor(connectionId);
  await broker.secrets.putSecret(secretId, await simulatorSecret(idp, grant));
  await broker.transport.call({ action: 'connect', connectionId, secretId, grant });
  return current === undefined ? 'connected' : 'reconnected';
}

/**
 * The connection secret a grant needs, made from the IdP simulator's client: what an operator would put
 * in the secret (README "Run it for real", step 3), with a refresh token the simulator mints in place
 * of a browser login. `goal-sync local` stores it for the broker; `goal-sync preflight` uses it directly.
 */
export async function simulatorSecret(idp: IdpPeer, grant: GrantType): Promise<ConnectionSecret> {
  const base = {
    tokenUrl: idp.tokenUrl,
    clientId: idp.client.clientId,
    clientSecret: idp.client.clientSecret,
    scope: DEFAULT_SCOPE,
  };
  if (grant === 'refresh_token') return { ...base, bootstrapRefreshToken: await idp.issueRefreshToken() };
  if (grant === 'client_credentials') return base;
  const { privateJwk: jwk, certificateAlias } = idp.client;
  if (!jwk || !certificateAlias)
    throw new ConfigError('the IdP did not share the client key and certificate alias that jwt-bearer needs');
  const privateKeyPem = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
  // What an operator puts in the secret for IDCS: the key, its certificate's alias, the Fusion user.
  return { ...base, privateKeyPem, keyId: certificateAlias, subject: idp.user };
}

/**
 * Local mode is one process: on a resume, a refresh lease or in-flight marker still on the connection
 * belongs to the process that crashed. With a refresh_token grant that refresh's outcome is unknown, and
 * the broker rightly refuses to resend the stored token (docs/invariants.md, invariant 2). Locally the
 * runner does what the operator would (`goal-sync connect`): it marks the connection for re-auth and
 * clears the dead process's lease, so ensureConnection reconnects it with a freshly minted grant.
 */
export async function releaseDeadRefresh(
  doc: DynamoDBDocumentClient,
  table: string,
  connectionId = LOCAL_CONNECTION_ID,
): Promise<boolean> {
  const key = { [CONNECTION_TABLE.partitionKey]: connectionId };
  const { Item } = await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
  if (!Item || (Item.leaseOwner === undefined && Item.refreshInFlight === undefined)) return false;
  await doc.send(
    new UpdateCommand({
      TableName: table,
      Key: key,
      UpdateExpression:
        'SET #status = :reauth REMOVE leaseOwner, leaseExpiresAt, refreshInFlight, refreshInFlightAt, refreshInFlightFingerprint',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':reauth': 'needs_reauth' },
    }),
  );
  return true;
}

async function connectionStatus(broker: LocalTokenBroker, connectionId: string): Promise<string | undefined> {
  try {
    const { connections } = await broker.transport.call<{ connections: Array<{ status: string }> }>({
      action: 'status',
      connectionId,
    });
    return connections[0]?.status;
  } catch (err) {
    if (err instanceof ConnectionNotFoundError) return undefined;
    throw err;
  }
}

export interface RefreshCounts {
  refreshes: number;
  proactive: number;
  jit: number;
  afterUnauthorized: number;
}

/** The broker's per-trigger refresh counters for the connection (masked status: no token in it). */
export async function refreshCounts(broker: LocalTokenBroker, connectionId = LOCAL_CONNECTION_ID) {
  const { connections } = await broker.transport.call<{
    connections: Array<{ status: string; refreshes: Record<string, number> }>;
  }>({ action: 'status', connectionId });
  const r = connections[0]?.refreshes ?? {};
  const proactive = (r.proactive ?? 0) + (r.sweep ?? 0);
  const jit = r.jit ?? 0;
  const afterUnauthorized = r.afterUnauthorized ?? 0;
  return {
    status: connections[0]?.status ?? 'missing',
    counts: { refreshes: proactive + jit + afterUnauthorized, proactive, jit, afterUnauthorized },
  };
}

import fc from 'fast-check';
import { type IdpFault, idpFaultArb, idpFaultRecoverArb, idpLatencyArb } from './model/idp-model.ts';
import { type CallFault, callFaultArb } from './model/peers.ts';

/** The broker scenario's plans (broker-scenario.ts): which instances call what, under which faults. */

/**
 * get: getToken; afterUnauthorized: getToken past the version it got before; proactive: the scheduled
 * refresh; sweep: the rate(5 minutes) sweep (refresh of due connections, recovery, outbox drain);
 * connect: `goal-sync connect` again with the same secret (its bootstrap token was spent at setup);
 * relay: the table stream delivering the item to the outbox relay once a transition has written an
 * event into it (within 100 ms of the write; it runs even after an earlier call of its instance failed,
 * as a stream batch comes whatever the Lambda that wrote the item did); recover: the sweep that retries a
 * self-recoverable needs_reauth once its retryAt has come (the instance waits for one to appear).
 */
export type BrokerCall =
  | 'get'
  | 'afterUnauthorized'
  | 'proactive'
  | 'sweep'
  | 'connect'
  | 'relay'
  | 'recover';

export interface InstancePlan {
  calls: BrokerCall[];
  dynamo: CallFault[];
  kms: CallFault[];
  idp: IdpFault[];
  idpLatency: number[];
  kill?: { at: number; lands: boolean };
}

export interface BrokerPlan {
  instances: InstancePlan[];
  /** Every call to the token-endpoint limiter's items is throttled: the instances keep to their fallback pace. */
  limiterThrottled?: boolean;
  seed: number;
}

const GET_CALLS: BrokerCall[] = ['get', 'afterUnauthorized'];
const ALL_CALLS: BrokerCall[] = [...GET_CALLS, 'proactive', 'sweep', 'connect', 'relay'];
/** A refresh first (it meets the IdP's faults), then the sweeper's recovery or another refresh. */
const recoverCallsArb: fc.Arbitrary<BrokerCall[]> = fc.tuple(
  fc.constantFrom<BrokerCall>('get', 'afterUnauthorized'),
  fc.constantFrom<BrokerCall>('recover', 'get'),
);

const instanceArb = (
  kills: boolean,
  calls: BrokerCall[] | fc.Arbitrary<BrokerCall[]>,
  idpFaults: fc.Arbitrary<IdpFault> = idpFaultArb,
  /** Fewer AWS faults: most of the recover plans' refreshes must reach the IdP to meet its faults. */
  awsFaults = { dynamo: 12, kms: 4 },
): fc.Arbitrary<InstancePlan> =>
  fc.record(
    {
      calls: Array.isArray(calls)
        ? fc.array(fc.constantFrom(...calls), { minLength: 1, maxLength: 2 })
        : calls,
      dynamo: fc.array(callFaultArb, { maxLength: awsFaults.dynamo }),
      kms: fc.array(callFaultArb, { maxLength: awsFaults.kms }),
      idp: fc.array(idpFaults, { maxLength: 3 }),
      idpLatency: fc.array(idpLatencyArb, { maxLength: 3 }),
      ...(kills ? { kill: fc.record({ at: fc.integer({ min: 1, max: 16 }), lands: fc.boolean() }) } : {}),
    },
    { requiredKeys: ['calls', 'dynamo', 'kms', 'idp', 'idpLatency'] },
  );

/**
 * `kills: false`: every instance lives (the mutation check uses it to tell a live holder's window apart).
 * `paths: 'get'`: only getToken calls, the plans the mutation check's counts were measured with; 'all'
 * mixes in the proactive, sweep and connect paths; 'recover' draws the IdP's 401 invalid_client (a
 * self-recoverable needs_reauth) and its 502 after a rotation, with instances that wait for the sweep's
 * recovery. The main suite draws 'all' and 'recover' plans.
 */
export type BrokerPaths = 'get' | 'all' | 'recover';
export const brokerPlans = (o: { kills?: boolean; paths?: BrokerPaths } = {}): fc.Arbitrary<BrokerPlan> =>
  fc.record({
    instances: fc.array(
      o.paths === 'recover'
        ? instanceArb(o.kills ?? true, recoverCallsArb, idpFaultRecoverArb, { dynamo: 3, kms: 1 })
        : instanceArb(o.kills ?? true, o.paths === 'all' ? ALL_CALLS : GET_CALLS),
      { minLength: 2, maxLength: 3 },
    ),
    limiterThrottled: fc.boolean(),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  });

export const brokerPlanArb = fc.oneof(brokerPlans({ paths: 'all' }), brokerPlans({ paths: 'recover' }));

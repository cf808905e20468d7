import type { DynamoFaults } from '../adapters/dynamo-fault-proxy.ts';

/**
 * The `--faults` names of issue 11 (a contract: exactly these): our own AWS dependencies made slow or
 * flaky, and a broker that dies between the token endpoint's answer and the commit.
 */
export interface AwsFaults {
  dynamo: Partial<DynamoFaults>;
  kms: { latencyMs?: number };
  broker: { crashAfterSendRate?: number };
}

const RATES = new Set(['dynamo.throttleRate', 'dynamo.dropAfterApplyRate', 'broker.crashAfterSendRate']);
const DURATIONS = new Set(['dynamo.latencyMs', 'kms.latencyMs']);

export const AWS_FAULT_USAGE =
  'dynamo.{latencyMs,throttleRate,dropAfterApplyRate} kms.latencyMs broker.crashAfterSendRate';

export const noAwsFaults = (): AwsFaults => ({ dynamo: {}, kms: {}, broker: {} });

/**
 * Applies one `key=value` if it is one of these names: true when consumed, false when the key belongs
 * to someone else; throws (the message only, the caller wraps it as a usage error) on a bad value.
 */
export function applyAwsFault(faults: AwsFaults, key: string, raw: string): boolean {
  if (!RATES.has(key) && !DURATIONS.has(key)) return false;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`fault ${key} must be a number >= 0`);
  if (RATES.has(key) && value > 1) throw new Error(`fault ${key} is a rate in [0, 1]`);
  const [target, field] = key.split('.') as ['dynamo' | 'kms' | 'broker', string];
  (faults[target] as Record<string, number>)[field] = value;
  return true;
}

export const hasDynamoFaults = (f: AwsFaults): boolean =>
  Object.values(f.dynamo).some((v) => v !== undefined && v > 0);

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mask, maskSecrets } from './mask.ts';

export const SERVICE_NAMESPACE = 'HcmGoalSync';

const SECRET_FIELD =
  /^(access_?token|refresh_?token|id_?token|client_?secret|authorization|(client_?)?assertion|private_?key(pem)?|password|token)$/i;

/** JSON replacer applied to every log line: secret fields and token-like strings come out masked (invariant 6). */
export function maskingReplacer(key: string, value: unknown): unknown {
  if (typeof value === 'string') return SECRET_FIELD.test(key) ? mask(value) : maskSecrets(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, jsonReplacerFn: maskingReplacer });
}

export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: SERVICE_NAMESPACE, serviceName });
}

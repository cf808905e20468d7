// CDK entry point (cdk.json "app"): `npm run synth`, `npx cdk deploy -c env=prod -c hcmBaseUrl=...`.
import { ConfigError } from '../lambdas/core/errors.ts';
import { buildApp } from './build.ts';

try {
  buildApp().app.synth();
} catch (err) {
  // A bad -c value is the operator's to fix: say which, without a stack trace.
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exitCode = 1;
}

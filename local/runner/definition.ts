import { renderDefinition } from '../../infra/state-machine.ts';

/**
 * The definition `goal-sync local` executes: the stack's (infra/stack.ts builds it with its manifest
 * bucket and chunkConcurrency), rendered with placeholder ARNs and bucket name.
 * test/infra/state-machine-template.test.ts proves it equal to the synthesized template's.
 */
export function localDefinition(concurrency: number) {
  return renderDefinition({ maxConcurrency: concurrency, distributed: { bucket: true } });
}

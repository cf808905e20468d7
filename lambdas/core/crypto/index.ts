/**
 * The public surface of `crypto/`: what code outside this folder may import (a test enforces it).
 * Everything else in the folder is internal.
 */

export type { PreparedSeal } from './envelope.ts';
export { canonicalContext, EnvelopeCipher, parseEnvelope, serializeEnvelope } from './envelope.ts';

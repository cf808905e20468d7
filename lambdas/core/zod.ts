import { en } from 'zod/locales';
import { config } from 'zod/mini';

/**
 * The schema library of everything that runs in a Lambda: zod's tree-shakable `mini` build with only
 * its English messages (the same texts classic zod gives). Classic `zod` carries every locale into each
 * bundle (~420 KiB of ~1 MiB, docs/benchmarks.md); the CLI, infra and local simulators may keep it.
 * Import it as a namespace (`import * as z from '../zod.ts'`): a namespace re-exported as a value would
 * keep every export of zod in the bundle, locales included.
 */
config(en());

export * from 'zod/mini';

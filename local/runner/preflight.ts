import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { escapeControl, formatFromUri } from '#core/source/index.ts';
import { type LocalRunOptions, UsageError } from './options.ts';

/**
 * What can be checked on disk before anything starts (no simulator, no database, no generated goals):
 * the source can be read and its format is known, the report can be written, the state dir is a dir.
 * A failure is a UsageError (exit 2), one line.
 */
export async function checkLocalPreconditions(o: LocalRunOptions): Promise<void> {
  if (o.source) {
    const info = await stat(o.source).catch(() => undefined);
    if (!info) throw new UsageError(`--source ${escapeControl(o.source)}: no such file`);
    if (!info.isFile()) throw new UsageError(`--source ${escapeControl(o.source)}: not a file`);
    try {
      formatFromUri(o.source);
    } catch (err) {
      throw new UsageError(`--source: ${(err as Error).message}`);
    }
  }
  if (o.reportFile) {
    const target = resolve(o.reportFile);
    const info = await stat(target).catch(() => undefined);
    if (info?.isDirectory()) throw new UsageError(`--report ${escapeControl(o.reportFile)}: is a directory`);
    const parent = await stat(dirname(target)).catch(() => undefined);
    if (!parent?.isDirectory()) {
      throw new UsageError(
        `--report ${escapeControl(o.reportFile)}: directory ${escapeControl(dirname(target))} does not exist`,
      );
    }
  }
  if (o.stateDir) {
    const info = await stat(o.stateDir).catch(() => undefined);
    if (info && !info.isDirectory())
      throw new UsageError(`--state-dir ${escapeControl(o.stateDir)}: not a directory`);
  }
  for (const [flag, url] of [
    ['--idp-url', o.idpUrl],
    ['--hcm-url', o.hcmUrl],
  ] as const) {
    if (url !== undefined && !URL.canParse(url))
      throw new UsageError(`${flag} ${escapeControl(url)}: not a URL`);
  }
}

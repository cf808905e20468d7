import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { escapeControl, formatFromUri } from '#core/source/index.ts';
import { type LocalRunOptions, UsageError } from './options.ts';
import { probeWritable } from './state-lock.ts';

/**
 * What can be checked on disk before anything starts (no simulator, no database, no generated goals):
 * the source can be read and its format is known, the report can be written, the state dir is a dir
 * this process can write in (lambdas/core/..., local/runner/state-lock.ts takes it after this).
 * A failure is a UsageError (exit 2), one line.
 */
export async function checkLocalPreconditions(o: LocalRunOptions): Promise<void> {
  if (o.source) {
    const info = await stat(o.source).catch(() => undefined);
    if (!info) throw new UsageError(`--source ${escapeControl(o.source)}: no such file`, false);
    if (!info.isFile()) throw new UsageError(`--source ${escapeControl(o.source)}: not a file`, false);
    try {
      formatFromUri(o.source);
    } catch (err) {
      throw new UsageError(`--source: ${(err as Error).message}`);
    }
  }
  if (o.reportFile) {
    const target = resolve(o.reportFile);
    const info = await stat(target).catch(() => undefined);
    if (info?.isDirectory())
      throw new UsageError(`--report ${escapeControl(o.reportFile)}: is a directory`, false);
    const parent = await stat(dirname(target)).catch(() => undefined);
    if (!parent?.isDirectory()) {
      throw new UsageError(
        `--report ${escapeControl(o.reportFile)}: directory ${escapeControl(dirname(target))} does not exist`,
        false,
      );
    }
    // Found out now, not after the run wrote to HCM and the report had nowhere to go.
    const denied =
      (await probeWritable(dirname(target))) ??
      (info
        ? await access(target, constants.W_OK).then(
            () => undefined,
            (e: NodeJS.ErrnoException) => e.code,
          )
        : undefined);
    if (denied)
      throw new UsageError(`--report ${escapeControl(o.reportFile)}: cannot be written (${denied})`, false);
  }
  if (o.stateDir) {
    const info = await stat(o.stateDir).catch(() => undefined);
    if (info && !info.isDirectory())
      throw new UsageError(`--state-dir ${escapeControl(o.stateDir)}: not a directory`, false);
    const denied = await probeWritable(o.stateDir);
    if (denied)
      throw new UsageError(`--state-dir ${escapeControl(o.stateDir)}: cannot write there (${denied})`, false);
  }
  for (const [flag, url] of [
    ['--idp-url', o.idpUrl],
    ['--hcm-url', o.hcmUrl],
  ] as const) {
    if (url !== undefined && !URL.canParse(url))
      throw new UsageError(`${flag} ${escapeControl(url)}: not a URL`);
  }
}

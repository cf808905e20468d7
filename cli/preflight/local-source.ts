import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSourceDigest, type SourceDigest } from '#core/preflight/index.ts';
import { fileSourceCopies, formatFromUri, openGoalSource, type SourceRef } from '#core/source/index.ts';
import { CliUsageError } from '../aws/cli.ts';

/**
 * The digest of a local source file, read with the pipeline's own reader; a file that needs a UTF-8 copy
 * (another encoding, UTF-16, a JSON array) is copied to a temporary directory first, as `validate` does.
 */
export async function localSourceDigest(path: string, sampleSize: number): Promise<SourceDigest> {
  try {
    if (!(await stat(path)).isFile()) throw new Error('not a file');
  } catch {
    throw new CliUsageError(`--source ${path}: no such file`, false);
  }
  const ref: SourceRef = { uri: path, format: formatFromUri(path) };
  const source = openGoalSource(ref);
  const copy = await source.normalizedCopy();
  if (!copy) return readSourceDigest(source, sampleSize);
  const dir = await mkdtemp(join(tmpdir(), 'goal-sync-preflight-'));
  try {
    const copied = await fileSourceCopies(dir).write('preflight', 1, copy, ref);
    return await readSourceDigest(openGoalSource(copied), sampleSize);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { execFileSync } from 'node:child_process';

/**
 * What a bench row measured: the commit, and the git tree hashes of lambdas/ and local/ (the code the
 * pipeline and its simulators run). Rows merge into one results file only when these trees are equal
 * and neither run had uncommitted changes there.
 */
export interface CodeIdentity {
  commit: string;
  lambdasTree: string;
  localTree: string;
  /** Uncommitted changes under lambdas/ or local/: the trees above do not describe what ran. */
  dirty: boolean;
}

const git = (root: string, args: string[]): string =>
  execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

export function codeIdentity(root: string): CodeIdentity {
  return {
    commit: git(root, ['rev-parse', 'HEAD']),
    lambdasTree: git(root, ['rev-parse', 'HEAD:lambdas']),
    localTree: git(root, ['rev-parse', 'HEAD:local']),
    dirty: git(root, ['status', '--porcelain', '--', 'lambdas', 'local']) !== '',
  };
}

/** Same measured code: equal trees, both clean. */
export const sameCode = (a: CodeIdentity, b: CodeIdentity): boolean =>
  !a.dirty && !b.dirty && a.lambdasTree === b.lambdasTree && a.localTree === b.localTree;

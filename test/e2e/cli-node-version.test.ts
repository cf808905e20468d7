import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enginesNode, nodeVersionProblem } from '../../bin/node-check.js';

/**
 * One Node (issue 28): package.json `engines` is what the dependencies need, and the CLI refuses an
 * older Node at once with what to run instead, rather than failing later inside a dependency.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'goal-sync.js');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The lowest version a range admits, as [major, minor] (each `||` alternative's first version, the lowest). */
function minimumOf(range: string): [number, number] {
  const mins = range.split('||').map((alt) => {
    const m = /(\d+)(?:\.(\d+))?/.exec(alt);
    return [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)] as [number, number];
  });
  return mins.sort((a, b) => a[0] - b[0] || a[1] - b[1])[0]!;
}
const atLeast = (a: [number, number], b: [number, number]) => a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]);

describe('one Node', () => {
  it('engines asks exactly the highest minimum of the direct dependencies, and the lockfile agrees', () => {
    const needs = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).flatMap((name) => {
      const file = join(ROOT, 'node_modules', name, 'package.json');
      const range = existsSync(file)
        ? (JSON.parse(readFileSync(file, 'utf8')) as { engines?: { node?: string } }).engines?.node
        : undefined;
      return range ? [{ name, min: minimumOf(range) }] : [];
    });
    const highest = needs.reduce((a, b) => (atLeast(a.min, b.min) ? a : b));
    expect(minimumOf(pkg.engines.node), `highest need: ${highest.name}`).toEqual(highest.min);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } }>;
    };
    expect(lock.packages['']?.engines?.node).toBe(pkg.engines.node);
    expect(enginesNode()).toBe(pkg.engines.node);
  });

  it('names what to run instead for an older Node, and nothing for a new enough one', () => {
    expect(nodeVersionProblem('v20.20.2', '>=22.12')).toMatch(
      /needs Node 22\.12 or later; this is Node 20\.20\.2\. Use npx goal-sync/,
    );
    expect(nodeVersionProblem('v22.11.0', '>=22.12')).toBeDefined();
    for (const ok of ['v22.12.0', 'v23.0.0', 'v24.22.3'])
      expect(nodeVersionProblem(ok, '>=22.12')).toBeUndefined();
    // The Node these tests run on (npm test: node_modules' Node 24) is a supported one.
    expect(nodeVersionProblem(process.version, pkg.engines.node)).toBeUndefined();
  });

  // CI's machine Node (Debian's) is older than engines; where no such Node is on PATH there is nothing to run.
  const older = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .map((dir) => join(dir, 'node'))
    .find((bin) => {
      if (!existsSync(bin)) return false;
      const v = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
      return nodeVersionProblem(v, pkg.engines.node) !== undefined;
    });
  it.skipIf(!older)(
    `an older Node on PATH (${older}) gets exit 2 and that advice before anything loads`,
    () => {
      const r = spawnSync(older!, [CLI, '--version'], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^goal-sync needs Node 22\.12 or later; .*Use npx goal-sync/);
    },
  );
});

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The simulators are Oracle's stand-ins: they get their picture of Oracle from Oracle's pages
 * (local/hcm/contract/), never from the client. If local/hcm or local/idp reached the client's HCM
 * or token code, directly or through any chain of imports, a shared mistake would pass every test.
 * The two sides meet only at HTTP.
 */
const SIMULATORS = ['local/hcm', 'local/idp'];
const FORBIDDEN = ['lambdas/core/hcm', 'lambdas/core/token'];
const IMPORT =
  /(?:import|export)(?:\s+type)?[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : /\.(ts|mts)$/.test(name) ? [path] : [];
  });
}

/** Where an import specifier points inside the repository (undefined: a package). */
function resolve(from: string, spec: string): string | undefined {
  if (spec.startsWith('#core/')) return normalize(join('lambdas/core', spec.slice('#core/'.length)));
  if (spec.startsWith('.')) return normalize(join(dirname(from), spec));
  return undefined;
}

/** Every repository file reachable from `roots` by imports, each with the chain that reached it. */
function reachable(roots: string[]): Map<string, string[]> {
  const chains = new Map<string, string[]>(roots.map((r) => [r, [r]]));
  const queue = [...roots];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (!existsSync(file)) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(file, m[1] ?? m[2] ?? '');
      if (!target || chains.has(target)) continue;
      chains.set(target, [...chains.get(file)!, target]);
      queue.push(target);
    }
  }
  return chains;
}

const forbidden = (path: string) => FORBIDDEN.some((dir) => path === dir || path.startsWith(dir + sep));

describe('simulator boundary', () => {
  it('nothing under local/hcm or local/idp reaches the client HCM or token code, even indirectly', () => {
    const chains = reachable(SIMULATORS.flatMap(tsFiles));
    const offenders = [...chains].filter(([file]) => forbidden(file)).map(([, chain]) => chain.join(' -> '));
    expect(offenders).toEqual([]);
  });

  it('the check sees an import through the #core alias and through a relative path', () => {
    expect(forbidden(resolve('local/hcm/x.ts', '#core/hcm/index.ts')!)).toBe(true);
    expect(forbidden(resolve('local/idp/x.ts', '../../lambdas/core/token/index.ts')!)).toBe(true);
    expect(forbidden(resolve('local/hcm/contract/x.ts', '../../../lambdas/core/hcm/oracle.ts')!)).toBe(true);
    expect(forbidden(resolve('local/hcm/x.ts', '../../lambdas/core/mask.ts')!)).toBe(false);
  });
});

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The IdP simulator stands in for IDCS, so it may meet the client only at HTTP: nothing under
 * local/idp/ may reach the client's token code or HCM code, directly or through any file it imports.
 * (The HCM simulator's half of this rule is its own test.)
 */
const FORBIDDEN = [/^lambdas\/core\/token\//, /^lambdas\/core\/hcm\//];
const IMPORT =
  /(?:import|export)(?:\s+type)?[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Repository-relative target of a relative or #core/ import; undefined for a package. */
function targetOf(file: string, spec: string): string | undefined {
  if (spec.startsWith('#core/')) return normalize(join('lambdas/core', spec.slice('#core/'.length)));
  if (spec.startsWith('.')) return normalize(join(dirname(file), spec));
  return undefined;
}

/** Every file reachable from `roots` by imports, with the chain that reached it. */
function reachable(roots: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>(roots.map((r) => [r, [r]]));
  const queue = [...roots];
  for (let file = queue.shift(); file; file = queue.shift()) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = targetOf(file, m[1] ?? m[2] ?? '');
      if (!target || seen.has(target) || !existsSync(target)) continue;
      seen.set(target, [...(seen.get(file) ?? []), target]);
      queue.push(target);
    }
  }
  return seen;
}

describe('IdP simulator boundary', () => {
  it('nothing under local/idp/ reaches the client token or HCM code, even through another file', () => {
    const chains = [...reachable(tsFiles('local/idp'))]
      .filter(([file]) => FORBIDDEN.some((re) => re.test(file)))
      .map(([, chain]) => chain.join(' -> '));
    expect(chains).toEqual([]);
  });

  it('follows imports through other files (the check can see a dependency two steps away)', () => {
    const chain = reachable(['lambdas/token-broker/handler.ts']);
    expect([...chain.keys()].some((f) => FORBIDDEN[0]!.test(f))).toBe(true);
  });
});

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Each core concern (lambdas/core/<concern>/) is reached from outside only through its index.ts, by the
 * `#core/<concern>/index.ts` alias (package.json "imports"). Internals can move without touching callers.
 */
const CORE = 'lambdas/core';
const CONCERNS = [
  'token',
  'checkpoint',
  'hcm',
  'source',
  'sync',
  'lease',
  'crypto',
  'preflight',
  'hdl',
  'rate',
];
const ROOTS = ['lambdas', 'cli', 'local', 'infra', 'bench', 'bin', 'test'];
const IMPORT =
  /(?:import|export)(?:\s+type)?[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'results') return [];
    return statSync(path).isDirectory() ? tsFiles(path) : /\.(ts|mts)$/.test(name) ? [path] : [];
  });
}

const concernOf = (path: string): string | undefined => {
  const rel = relative(CORE, path);
  const head = rel.split(sep)[0];
  return !rel.startsWith('..') && rel.includes(sep) && head && CONCERNS.includes(head) ? head : undefined;
};

const targetOf = (file: string, spec: string): string | undefined =>
  spec.startsWith('#core/')
    ? normalize(join(CORE, spec.slice('#core/'.length)))
    : spec.startsWith('.')
      ? normalize(join(dirname(file), spec))
      : undefined;

describe('module boundaries', () => {
  it('no import from outside a core concern reaches past its index.ts', () => {
    const offenders: string[] = [];
    for (const file of ROOTS.flatMap(tsFiles)) {
      const own = concernOf(file);
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? '';
        const target = targetOf(file, spec);
        const concern = target && concernOf(target);
        if (!concern || concern === own) continue;
        if (target !== join(CORE, concern, 'index.ts')) offenders.push(`${file} -> ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('callers outside lambdas/core name a concern by the #core alias, not a deep relative path', () => {
    const deep = ROOTS.filter((r) => r !== 'lambdas')
      .flatMap(tsFiles)
      .flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(IMPORT)]
          .map((m) => m[1] ?? m[2] ?? '')
          .filter((spec) =>
            /^(\.\.\/)+lambdas\/core\/(token|checkpoint|hcm|source|sync|lease|crypto|preflight|hdl|rate)\//.test(
              spec,
            ),
          )
          .map((spec) => `${file} -> ${spec}`),
      );
    expect(deep).toEqual([]);
  });

  it('product code has no import circle (type-only imports count: they tie the modules together)', () => {
    const files = ['lambdas', 'cli', 'local', 'infra', 'bin'].flatMap(tsFiles);
    const known = new Set(files);
    const edges = new Map<string, string[]>();
    for (const file of files) {
      const targets = [...readFileSync(file, 'utf8').matchAll(IMPORT)]
        .map((m) => targetOf(file, m[1] ?? m[2] ?? ''))
        .filter((t): t is string => t !== undefined && known.has(t));
      edges.set(file, targets);
    }
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of edges.get(file) ?? []) {
        if (state.get(next) === 'open')
          circles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(circles).toEqual([]);
  });
});

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import config from '../../vitest.config.ts';

/**
 * Issue 29: no test may depend on how fast the machine is. A per-test or per-hook timeout below
 * vitest.config's hang guards is a speed bound in disguise: at load 9 on 2 cores a test that takes
 * 15 s quiet took over 60 s, and a 60 s timeout failed it. So timeouts may only be raised here,
 * never lowered; a test that must bound time does it through an injected clock or a ratio.
 */
const TEST_GUARD = config.test?.testTimeout ?? 0;
const HOOK_GUARD = config.test?.hookTimeout ?? 0;
const TESTS = new Set(['it', 'test', 'describe']);
const HOOKS = new Set(['beforeAll', 'afterAll', 'beforeEach', 'afterEach']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** `it`, `it.runIf(x)`, `describe.each(rows)`, `test.skipIf(x)`...: the vitest function a call starts from. */
function vitestName(callee: ts.Expression): string | undefined {
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return vitestName(callee.expression);
  if (ts.isCallExpression(callee)) return vitestName(callee.expression);
  return undefined;
}

const numberOf = (e: ts.Expression | undefined): number | undefined =>
  e && ts.isNumericLiteral(e) ? Number(e.text.replaceAll('_', '')) : undefined;

/** The timeout a call to it/describe/a hook sets: a trailing number or an options object's `timeout`. */
function timeoutOf(call: ts.CallExpression): number | undefined {
  const last = call.arguments.at(-1);
  const trailing = call.arguments.length >= 2 ? numberOf(last) : undefined;
  if (trailing !== undefined) return trailing;
  for (const arg of call.arguments) {
    if (!ts.isObjectLiteralExpression(arg)) continue;
    for (const p of arg.properties)
      if (ts.isPropertyAssignment(p) && p.name.getText() === 'timeout') return numberOf(p.initializer);
  }
  return undefined;
}

function lowTimeouts(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const name = vitestName(node.expression);
      const guard = name && TESTS.has(name) ? TEST_GUARD : name && HOOKS.has(name) ? HOOK_GUARD : undefined;
      const timeout = guard === undefined ? undefined : timeoutOf(node);
      if (guard !== undefined && timeout !== undefined && timeout < guard) {
        const line = sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        found.push(`${file}:${line} ${name} sets ${timeout} ms, below the ${guard} ms hang guard`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe('test timeouts are hang guards, not speed bounds', () => {
  it('the guards are set in vitest.config', () => {
    expect(TEST_GUARD).toBeGreaterThanOrEqual(180_000);
    expect(HOOK_GUARD).toBeGreaterThanOrEqual(120_000);
  });

  it('finds a lowered timeout in every form vitest takes, and nothing in a timer', () => {
    const sample = [
      "it('a', async () => {}, 60_000);",
      "describe('b', { timeout: 120_000 }, () => {});",
      "it.runIf(true)('c', () => {}, 1000);",
      'beforeAll(async () => {}, 30_000);',
      "it('fine', () => {}, 300_000);",
      'setTimeout(() => {}, 20_000);',
      'setInterval(() => {}, 2);',
    ].join('\n');
    expect(lowTimeouts('sample.ts', sample)).toEqual([
      `sample.ts:1 it sets 60000 ms, below the ${TEST_GUARD} ms hang guard`,
      `sample.ts:2 describe sets 120000 ms, below the ${TEST_GUARD} ms hang guard`,
      `sample.ts:3 it sets 1000 ms, below the ${TEST_GUARD} ms hang guard`,
      `sample.ts:4 beforeAll sets 30000 ms, below the ${HOOK_GUARD} ms hang guard`,
    ]);
  });

  it('no test or hook in test/ lowers them', () => {
    const found = tsFiles('test').flatMap((f) => lowTimeouts(f, readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });
});

/**
 * Lambda bundle sizes from an esbuild metafile, with the options `cdk synth` bundles with
 * (infra/functions.ts: ESM, node22, minified, SDK bundled). Per bundle: the minified size and the
 * bytes each package contributes; packages present at more than one version (nested node_modules)
 * are named, since each copy ships in full. `npm run bench:bundles [-- --json]`.
 */

import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { ESM_REQUIRE_BANNER, FUNCTION_SPECS, PROJECT_ROOT } from '../infra/functions.ts';

interface BundleReport {
  function: string;
  bytes: number;
  /** Output bytes per package (`@scope/name`, or `(project)` for this repository's code). */
  packages: Record<string, number>;
  /** Packages bundled from more than one node_modules directory (duplicated copies). */
  duplicated: Record<string, string[]>;
}

const PACKAGE_RE = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/g;

/** `node_modules/a/node_modules/@s/b/dist/x.js` -> { name: '@s/b', dir: 'node_modules/a/node_modules/@s/b' } */
function packageOf(input: string): { name: string; dir: string } {
  let last: RegExpExecArray | undefined;
  for (const m of input.matchAll(PACKAGE_RE)) last = m as RegExpExecArray;
  if (!last) return { name: '(project)', dir: '' };
  return { name: last[1]!, dir: input.slice(0, last.index + last[0].length).replace(/^\//, '') };
}

function analyse(name: string, metafile: Metafile): BundleReport {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint);
  if (!output) throw new Error(`${name}: esbuild wrote no output`);
  const packages: Record<string, number> = {};
  const dirs = new Map<string, Set<string>>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = packageOf(input);
    packages[pkg.name] = (packages[pkg.name] ?? 0) + bytesInOutput;
    if (pkg.dir && bytesInOutput > 0) dirs.set(pkg.name, (dirs.get(pkg.name) ?? new Set()).add(pkg.dir));
  }
  const duplicated = Object.fromEntries(
    [...dirs].filter(([, d]) => d.size > 1).map(([n, d]) => [n, [...d].sort()]),
  );
  return { function: name, bytes: output.bytes, packages, duplicated };
}

async function measure(): Promise<BundleReport[]> {
  const reports: BundleReport[] = [];
  for (const [key, spec] of Object.entries(FUNCTION_SPECS)) {
    const result = await build({
      entryPoints: [join(PROJECT_ROOT, 'lambdas', spec.folder, 'index.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      minify: true,
      mainFields: ['module', 'main'],
      banner: { js: ESM_REQUIRE_BANNER },
      tsconfig: join(PROJECT_ROOT, 'tsconfig.json'),
      metafile: true,
      write: false,
      outfile: join(PROJECT_ROOT, 'cdk.out', 'bundle-size', key, 'index.mjs'),
      logLevel: 'warning',
    });
    reports.push(analyse(key, result.metafile));
  }
  return reports;
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

const reports = await measure();
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(reports, null, 2));
} else {
  for (const r of reports) {
    const sdk = Object.entries(r.packages)
      .filter(([n]) => n.startsWith('@aws-sdk/') || n.startsWith('@smithy/') || n.startsWith('@aws-crypto/'))
      .reduce((sum, [, b]) => sum + b, 0);
    const top = Object.entries(r.packages)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([n, b]) => `${n} ${kib(b)}`)
      .join(', ');
    const dup = Object.keys(r.duplicated);
    console.log(
      `${r.function.padEnd(11)} ${kib(r.bytes).padStart(9)}  AWS SDK layers ${kib(sdk)}  duplicated packages: ${dup.length ? dup.join(' ') : 'none'}`,
    );
    console.log(`            top: ${top}`);
  }
}

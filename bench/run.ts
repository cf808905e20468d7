import '../local/polyfills.ts';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, platform, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareSource, type SourceFacts } from './bench-source.ts';
import { type Check, checksFor, scaleChecks } from './checks.ts';
import { type Mode, type ModeRun, runScenario } from './execute.ts';
import { type BenchResults, renderReport } from './markdown.ts';
import { type BenchRow, formulaCeilingGoalsPerSec, formulaRequestsPerGoal, toRow } from './row-metrics.ts';
import { INVALID_RATE, type Lane, SCENARIOS, type Scenario, SEED, scenarioId } from './scenarios.ts';

const USAGE = `npm run bench [-- --only NAME[,NAME...]] [--serial] [--out FILE] [--include FILE]
  Runs every scenario for the managed pipeline and for --naive, writes bench/results/latest.json and
  latest.md, prints the Markdown table. --only (scenario names or ids such as scale-50k) writes to
  --out only (default: no file). --serial runs every scenario one at a time. --include FILE adds the
  rows of an earlier results file (e.g. a long scale-200k run measured once) to the table and to the
  scale checks; its rows keep their own numbers, and the notes say which rows came from where.`;

const DEFAULT_OUT = resolve(fileURLToPath(new URL('./results/latest.json', import.meta.url)));
const MODES: Mode[] = ['managed', 'naive'];

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function options() {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      only: { type: 'string' },
      out: { type: 'string' },
      serial: { type: 'boolean' },
      include: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const only = values.only?.split(',').filter(Boolean);
  const selected = only
    ? SCENARIOS.filter((s) => only.includes(s.name) || only.includes(scenarioId(s)))
    : SCENARIOS;
  if (only && selected.length === 0) throw new Error(`no scenario matches --only ${values.only}`);
  const out = values.out ? resolve(values.out) : only ? undefined : DEFAULT_OUT;
  return {
    help: values.help ?? false,
    selected,
    out,
    serial: values.serial ?? false,
    include: values.include ? resolve(values.include) : undefined,
  };
}

async function runOne(s: Scenario, mode: Mode, facts: SourceFacts, workDir: string): Promise<ModeRun> {
  const id = scenarioId(s);
  log(
    `${id} ${mode}: start (${facts.records} goals, ${s.rateLimit} req/s, token TTL ${s.tokenTtlSeconds} s)`,
  );
  const run = await runScenario(s, mode, facts, workDir, SEED, (step) => {
    const c = step.child;
    const status = c.report?.status ?? (c.exitCode === 137 ? 'crashed' : `exit ${c.exitCode ?? c.signal}`);
    log(
      `  ${id} ${mode} ${step.kind}: ${status}, ${(c.wallMs / 1000).toFixed(1)} s, ${c.maxRssKb ?? '?'} KB peak`,
    );
    if (c.report?.error) log(`  error: ${c.report.error}`);
    if (!c.report && c.exitCode !== 137) log(`  stderr: ${c.stderrTail}`);
  });
  const row = toRow(run);
  log(`${id} ${mode}: ${(row.wallMs / 1000).toFixed(1)} s, ${row.outcome}`);
  return run;
}

function notesFor(runs: ModeRun[]): string[] {
  const base = runs.find((r) => r.scenario.name === 'baseline' && r.mode === 'managed');
  const notes = [
    'Counts (HCM requests, 401s, token calls, reuse detections, revocations, duplicates, lost) come from the ' +
      "simulators' own stats and stored goals; refreshes by trigger come from the broker's counters (the IdP " +
      'cannot know why a refresh happened); times from the processes.',
    'physical ceiling = HCM rate limit / 1 request per goal written: every other request (a finder, a ' +
      'retry) is a goal not written. The headline ratio and the checks use it. formula ceiling = rate limit / ' +
      '(1 + persons / valid goals): one POST per goal plus one existing-goal finder per person, what the ' +
      'per-person finder pattern can reach at best.',
  ];
  if (base) {
    const perPlan = 1 + base.facts.personPlans / base.facts.validKeys.size;
    const row = toRow(base);
    notes.push(
      `baseline source: ${base.facts.validKeys.size} valid goals, ${base.facts.persons} persons, ` +
        `${base.facts.personPlans} (person, goal plan) pairs. Physical ceiling ${base.scenario.rateLimit} goals/s ` +
        `(1 request/goal): the run reached ${(row.ceilingRatio * 100).toFixed(1)}% of it with ` +
        `${row.hcmRequestsPerGoal.toFixed(3)} requests/goal. Per-person finder formula: ` +
        `${formulaRequestsPerGoal(base).toFixed(3)} requests/goal, ceiling ${formulaCeilingGoalsPerSec(base).toFixed(1)} ` +
        `goals/s (${(row.formulaCeilingRatio * 100).toFixed(1)}% of it); one finder per (person, goal plan) would be ` +
        `${perPlan.toFixed(3)} requests/goal.`,
    );
  }
  notes.push(
    'IdP fault dice (idp-flaky) use Math.random in the simulator, so that scenario does not replay exactly; ' +
      'HCM faults are seeded.',
  );
  return notes;
}

/** Rows of an earlier results file that this run did not measure again (same name, goals and mode). */
async function includedRows(file: string, measured: BenchRow[]): Promise<{ rows: BenchRow[]; note: string }> {
  const earlier = JSON.parse(await readFile(file, 'utf8')) as BenchResults;
  const same = (a: BenchRow, b: BenchRow) => a.name === b.name && a.goals === b.goals && a.mode === b.mode;
  const rows = earlier.scenarios.filter((r) => !measured.some((m) => same(m, r)));
  const ids = rows.map((r) => `${r.name} ${r.goals} ${r.mode}`).join(', ');
  return {
    rows,
    note:
      `Rows measured earlier (${earlier.generatedAt}, ${basename(file)}), not run again here: ${ids}. ` +
      'Only the scale checks (which compare rows) include them; their own checks were in that run.',
  };
}

async function main(): Promise<number> {
  const o = options();
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const t0 = performance.now();
  const workDir = await mkdtemp(join(tmpdir(), 'goal-sync-bench-'));
  try {
    const facts = new Map<Scenario, SourceFacts>();
    for (const s of o.selected) {
      const path = join(workDir, `${scenarioId(s)}.jsonl`);
      facts.set(s, await prepareSource(path, { goals: s.goals, seed: SEED, invalidRate: INVALID_RATE }));
    }
    const jobs = o.selected.flatMap((s) => (s.modes ?? MODES).map((mode) => ({ s, mode })));
    const runs = new Map<string, ModeRun>();
    const exec = async (j: { s: Scenario; mode: Mode }) =>
      runs.set(`${scenarioId(j.s)}/${j.mode}`, await runOne(j.s, j.mode, facts.get(j.s)!, workDir));
    const lane = (name: Lane) => jobs.filter((j) => j.s.lane === name);
    const oneByOne = async (list: typeof jobs) => {
      for (const j of list) await exec(j);
    };
    if (o.serial) await oneByOne(jobs);
    else {
      // Rate-limited runs mostly wait on the HCM token bucket: side by side they barely touch each
      // other, and the fault runs (one at a time) fill the idle core meanwhile. Herd and scale run last, alone.
      await Promise.all([Promise.all(lane('paced').map(exec)), oneByOne(lane('invariant'))]);
      await oneByOne(lane('alone'));
    }

    const ordered = jobs.map((j) => runs.get(`${scenarioId(j.s)}/${j.mode}`)!);
    const measured: BenchRow[] = ordered.map(toRow);
    const earlier = o.include ? await includedRows(o.include, measured) : undefined;
    const rows = earlier ? [...measured, ...earlier.rows] : measured;
    const checks: Check[] = [...ordered.flatMap((r, i) => checksFor(r, measured[i]!)), ...scaleChecks(rows)];
    const results: BenchResults = {
      generatedAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        platform: `${platform()} ${process.arch}`,
      },
      scenarios: rows,
    };
    const notes = notesFor(ordered);
    if (earlier) notes.push(earlier.note);
    notes.push(`whole bench: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const paced = new Set(SCENARIOS.filter((s) => s.lane === 'paced').map((s) => s.name));
    const markdown = renderReport(results, checks, notes, paced);
    if (o.out) {
      await mkdir(dirname(o.out), { recursive: true });
      await writeFile(o.out, `${JSON.stringify(results, null, 2)}\n`);
      await writeFile(o.out.replace(/\.json$/, '.md'), markdown);
      log(`wrote ${o.out} and ${o.out.replace(/\.json$/, '.md')}`);
    }
    console.log(markdown);
    const failed = checks.filter((c) => c.verdict === 'fail');
    if (failed.length > 0) log(`${failed.length} check(s) failed`);
    return failed.length > 0 ? 1 : 0;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 2;
  },
);

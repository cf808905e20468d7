import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildHdlFiles, type HdlGoalEntry } from '#core/hdl/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { FY26, planGoals, ROOT, type SimHarness, startSimHarness } from '../support/hcm-sim-http.ts';

/**
 * HCM Data Loader in the simulator, over HTTP only: files come from the client's writer
 * (lambdas/core/hdl), the simulator reads them with its own parser (local/hcm/hdl); the two meet here.
 * Workers: index i is person E00000(i+1) with assignment E00000(i+1)-1; index 52 (E000053) has no plan.
 */
const DATA_SETS = `${ROOT}/dataLoadDataSets`;
const OWNER = 'GOALSYNC';
const NO_PLAN = 52;
let h: SimHarness;

const personNumber = (i: number) => `E${String(i + 1).padStart(6, '0')}`;

function entry(i: number, over: Partial<GoalRecord> = {}): HdlGoalEntry {
  return {
    record: {
      externalKey: `hdl-${i}`,
      personNumber: personNumber(i),
      goalName: `HDL goal ${i}`,
      description: `Line one | with a pipe\nline two \\ end`,
      startDate: '2026-02-01',
      targetCompletionDate: '2026-11-30',
      status: 'IN_PROGRESS',
      goalPlanId: FY26.GoalPlanId,
      weight: 10,
      priority: 'HIGH',
      percentComplete: 50,
      category: 'DEVELOPMENT',
      ...over,
    },
    goalPlanName: FY26.GoalPlanName,
    assignmentNumber: `${personNumber(i)}-1`,
  };
}

function zipOf(entries: HdlGoalEntry[], runId = 'run-1'): { name: string; zip: Uint8Array } {
  const { files, rejected } = buildHdlFiles(entries, { runId, sourceSystemOwner: OWNER });
  expect(rejected).toEqual([]);
  expect(files).toHaveLength(1);
  return files[0]!;
}

async function upload(file: { name: string; zip: Uint8Array }, contentId?: string) {
  const res = await h.call(`${DATA_SETS}/action/uploadFile`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.oracle.adf.action+json' },
    body: {
      content: Buffer.from(file.zip).toString('base64'),
      fileName: file.name,
      ...(contentId ? { contentId } : {}),
    },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/vnd.oracle.adf.actionresult+json');
  return res.body.result.ContentId as string;
}

async function submit(contentId: string, dataSetName: string) {
  const res = await h.call(`${DATA_SETS}/action/createFileDataSet`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.oracle.adf.action+json' },
    body: { contentId, fileAction: 'IMPORT_AND_LOAD', dataSetName },
  });
  expect(res.status).toBe(200);
  return res.body.result.RequestId as number;
}

/** Polls until the data set leaves ORA_IN_PROGRESS (bounded by count, not by wall clock). */
async function settle(requestId: number, polls = 2_000) {
  for (let i = 0; i < polls; i++) {
    const res = await h.call(`${DATA_SETS}/${requestId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.oracle.adf.resourceitem+json');
    if (res.body.DataSetStatusCode !== 'ORA_IN_PROGRESS') return res.body;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`data set ${requestId} still in progress`);
}

async function load(file: { name: string; zip: Uint8Array }, name = file.name) {
  return settle(await submit(await upload(file), name));
}

async function planGoalsNamed(prefix: string) {
  const res = await h.call(`${planGoals(FY26.GoalPlanId)}?limit=500&onlyData=true`);
  return (res.body.items as Array<Record<string, unknown>>).filter((g) =>
    String(g.GoalName).startsWith(prefix),
  );
}

beforeAll(async () => {
  h = await startSimHarness({ persons: 500 });
});
afterAll(async () => h?.close());
beforeEach(() => {
  h.sim.setFaults({
    'hdl.loadLinesPerSecond': 10_000,
    'hdl.uploadDropAfterStoreRate': 0,
    'hdl.submitDropAfterAcceptRate': 0,
    'hdl.lineErrorRate': 0,
    'hdl.stuckRate': 0,
  });
});

describe('HCM simulator: HDL data sets', () => {
  it('loads a file the writer produced: upload, createFileDataSet, poll; the goals are visible to REST', async () => {
    const entries = [0, 1, 2, 3].map((i) => entry(i));
    const set = await load(zipOf(entries));
    expect(set).toMatchObject({
      DataSetStatusCode: 'ORA_SUCCESS',
      FileLineCount: 8,
      LoadedLineCount: 8,
      LoadErrorCount: 0,
      ObjectsCreated: 4,
    });
    const goals = await planGoalsNamed('HDL goal ');
    expect(goals).toHaveLength(4);
    expect(goals.find((g) => g.GoalName === 'HDL goal 1')).toMatchObject({
      Description: 'Line one | with a pipe\nline two \\ end',
      StartDate: '2026-02-01',
      StatusCode: 'IN_PROGRESS',
      PercentCompletion: '50',
      Weighting: 10,
      PriorityCode: 'HIGH',
      CategoryCode: 'DEVELOPMENT',
    });
  });

  it('the same file twice creates nothing new; changed content updates in place by source key', async () => {
    const before = h.sim.goals().length;
    const again = await load(zipOf([0, 1, 2, 3].map((i) => entry(i))), 'second');
    expect(again).toMatchObject({ DataSetStatusCode: 'ORA_SUCCESS', ObjectsCreated: 0, ObjectsUpdated: 4 });
    const changed = await load(
      zipOf(
        [0, 1, 2, 3].map((i) => entry(i, { description: 'changed' })),
        'run-2',
      ),
      'third',
    );
    expect(changed).toMatchObject({ ObjectsCreated: 0, ObjectsUpdated: 4 });
    expect(h.sim.goals().length).toBe(before);
    expect((await planGoalsNamed('HDL goal ')).map((g) => g.Description)).toEqual(Array(4).fill('changed'));
  });

  it('a line the REST rules refuse fails with a message; generateFailedLinesFile returns it to fix and resend', async () => {
    const set = await load(zipOf([entry(10), entry(NO_PLAN)], 'run-3'));
    expect(set).toMatchObject({ DataSetStatusCode: 'ORA_ERROR', ObjectsCreated: 1, LoadErrorCount: 2 });
    const messages = await h.call(`${DATA_SETS}/${set.RequestId}/child/messages`);
    const texts = messages.body.items.map(
      (m: { MessageText: string; SourceSystemId: string; FileLine: number }) => [
        m.SourceSystemId,
        m.FileLine,
        m.MessageText,
      ],
    );
    expect(texts).toEqual([
      ['hdl-52', 3, expect.stringContaining("isn't assigned to the goal plan")],
      ['hdl-52_GPG', 6, expect.stringContaining("isn't assigned to the goal plan")],
    ]);
    const failed = await h.call(`${DATA_SETS}/${set.RequestId}/action/generateFailedLinesFile`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.oracle.adf.action+json' },
      body: {},
    });
    const dat = new TextDecoder().decode(
      unzipSync(Buffer.from(failed.body.result.content, 'base64'))['Goal.dat']!,
    );
    const lines = dat.trim().split('\n');
    expect(lines.map((l) => l.split('|').slice(0, 2).join('|'))).toEqual([
      'METADATA|Goal',
      'MERGE|Goal',
      'METADATA|GoalPlanGoal',
      'MERGE|GoalPlanGoal',
    ]);
    expect(lines[1]).toContain('|hdl-52|');
  });

  it('a bad code or an unknown plan name is refused with the same words as REST', async () => {
    const bad = { ...entry(11), goalPlanName: 'No such plan' };
    const set = await load(zipOf([bad, entry(12, { category: 'NOPE' })], 'run-4'));
    const messages = (await h.call(`${DATA_SETS}/${set.RequestId}/child/messages`)).body.items.map(
      (m: { MessageText: string }) => m.MessageText,
    );
    expect(messages).toContain("The goal plan No such plan doesn't exist.");
    expect(messages.some((m: string) => m.includes('"NOPE" of attribute CategoryCode isn\'t valid'))).toBe(
      true,
    );
  });
});

describe('HCM simulator: HDL import errors', () => {
  it('a file that is not a zip fails the data set with a message', async () => {
    const set = await load({ name: 'junk.zip', zip: new TextEncoder().encode('not a zip') }, 'junk');
    expect(set.DataSetStatusCode).toBe('ORA_ERROR');
    const messages = (await h.call(`${DATA_SETS}/${set.RequestId}/child/messages`)).body.items;
    expect(messages[0].MessageText).toContain('not a .zip file');
  });

  it('a new goal without its GoalPlanGoal line is refused: the component is required', async () => {
    const dat = zipOf([entry(60)], 'run-14');
    const goalOnly = new TextDecoder()
      .decode(unzipSync(dat.zip)['Goal.dat']!)
      .split('\n')
      .filter((l) => !l.includes('GoalPlanGoal'))
      .join('\n');
    const set = await load({
      name: 'goal-only.zip',
      zip: zipSync({ 'Goal.dat': new TextEncoder().encode(goalOnly) }),
    });
    expect(set).toMatchObject({ ObjectsCreated: 0, LoadErrorCount: 1 });
    const messages = (await h.call(`${DATA_SETS}/${set.RequestId}/child/messages`)).body.items;
    expect(messages[0].MessageText).toContain('GoalPlanGoal line: the component is required');
  });
});

describe('HCM simulator: HDL source keys', () => {
  it('a source key keeps its worker and plan: a moved record under the same key is refused, not moved', async () => {
    await load(zipOf([entry(40)], 'run-11'));
    const moved = { ...entry(41), record: { ...entry(41).record, externalKey: 'hdl-40' } };
    const set = await load(zipOf([moved], 'run-12'));
    expect(set).toMatchObject({ ObjectsCreated: 0, ObjectsUpdated: 0, LoadErrorCount: 2 });
    const messages = (await h.call(`${DATA_SETS}/${set.RequestId}/child/messages`)).body.items;
    expect(messages[0].MessageText).toContain("WorkerPersonNumber can't be changed");
  });

  it('the key map outlives a restart of a simulator with a state directory: the same file creates nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcm-hdl-'));
    const keep = h;
    try {
      const file = zipOf([entry(50), entry(51)], 'run-13');
      h = await startSimHarness({
        persons: 500,
        stateDir: dir,
        faults: { 'hdl.loadLinesPerSecond': 10_000 },
      });
      expect(await load(file)).toMatchObject({ ObjectsCreated: 2 });
      await h.close();
      h = await startSimHarness({
        persons: 500,
        stateDir: dir,
        faults: { 'hdl.loadLinesPerSecond': 10_000 },
      });
      expect(await load(file)).toMatchObject({ ObjectsCreated: 0, ObjectsUpdated: 2 });
      expect(h.sim.goals()).toHaveLength(2);
      await h.close();
    } finally {
      h = keep;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HCM simulator: HDL faults', () => {
  it('hdl.uploadDropAfterStoreRate: the answer is lost, the file is kept under the content id sent', async () => {
    h.sim.setFaults({ 'hdl.uploadDropAfterStoreRate': 1 });
    const file = zipOf([entry(20)], 'run-5');
    await expect(upload(file, 'UCM-RUN5-1')).rejects.toThrow();
    h.sim.setFaults({ 'hdl.uploadDropAfterStoreRate': 0 });
    expect(await settle(await submit('UCM-RUN5-1', 'run-5'))).toMatchObject({ ObjectsCreated: 1 });
  });

  it('hdl.submitDropAfterAcceptRate: the answer is lost, the data set runs and is found by its name', async () => {
    const contentId = await upload(zipOf([entry(21)], 'run-6'));
    h.sim.setFaults({ 'hdl.submitDropAfterAcceptRate': 1 });
    await expect(submit(contentId, 'run-6-part-0001')).rejects.toThrow();
    const found = await h.call(`${DATA_SETS}?q=DataSetName=run-6-part-0001`);
    expect(found.body.items).toHaveLength(1);
    expect(await settle(found.body.items[0].RequestId)).toMatchObject({ ObjectsCreated: 1 });
  });

  it('hdl.lineErrorRate: every object fails with a message, nothing is stored', async () => {
    h.sim.setFaults({ 'hdl.lineErrorRate': 1 });
    const before = h.sim.goals().length;
    const set = await load(zipOf([entry(22), entry(23)], 'run-7'));
    expect(set).toMatchObject({ DataSetStatusCode: 'ORA_ERROR', LoadErrorCount: 4, ObjectsCreated: 0 });
    const messages = (await h.call(`${DATA_SETS}/${set.RequestId}/child/messages`)).body.items;
    expect(messages).toHaveLength(4);
    expect(messages[0].MessageText).toContain('hdl.lineErrorRate');
    expect(h.sim.goals().length).toBe(before);
  });

  it('hdl.stuckRate: the data set stays in progress while a later one completes', async () => {
    h.sim.setFaults({ 'hdl.stuckRate': 1 });
    const stuck = await submit(await upload(zipOf([entry(24)], 'run-8')), 'stuck');
    h.sim.setFaults({ 'hdl.stuckRate': 0 });
    expect(await load(zipOf([entry(25)], 'run-9'))).toMatchObject({ DataSetStatusCode: 'ORA_SUCCESS' });
    expect((await h.call(`${DATA_SETS}/${stuck}`)).body).toMatchObject({
      DataSetStatusCode: 'ORA_IN_PROGRESS',
      LoadedLineCount: 0,
    });
  });

  it('hdl.loadLinesPerSecond: a slow load is seen part-way (loaded lines grow between polls)', async () => {
    h.sim.setFaults({ 'hdl.loadLinesPerSecond': 10 });
    const requestId = await submit(
      await upload(
        zipOf(
          [30, 31, 32, 33, 34].map((i) => entry(i)),
          'run-10',
        ),
      ),
      'slow',
    );
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const set = (await h.call(`${DATA_SETS}/${requestId}`)).body;
      seen.add(set.LoadedLineCount);
      if (set.DataSetStatusCode !== 'ORA_IN_PROGRESS') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(Math.max(...seen)).toBe(10);
    expect([...seen].some((n) => n > 0 && n < 10)).toBe(true);
  });

  it('forbidden dataLoadDataSets: 403 naming the privilege HDL needs', async () => {
    h.sim.setFaults({ forbidden: ['POST dataLoadDataSets'] });
    try {
      const res = await h.call(`${DATA_SETS}/action/uploadFile`, {
        method: 'POST',
        body: { content: 'AA==' },
      });
      expect(res.status).toBe(403);
      expect(JSON.stringify(res.body)).toContain('Load All Data Sets using Data Load Data Sets REST Service');
      expect((await h.call(DATA_SETS)).status).toBe(200);
    } finally {
      h.sim.setFaults({ forbidden: [] });
    }
  });

  it('refuses bad fault values like the other faults', () => {
    expect(() => h.sim.setFaults({ 'hdl.lineErrorRate': 2 })).toThrow(/from 0 to 1/);
    expect(() => h.sim.setFaults({ 'hdl.loadLinesPerSecond': 0 })).toThrow(/> 0/);
  });
});

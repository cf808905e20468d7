import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteHcmGoal, editHcmGoal, type HcmSim } from '../../local/hcm/index.ts';
import type { IdpSim } from '../../local/idp/index.ts';
import { runLocalInProcess } from '../support/campaign.ts';
import { startSimPair } from '../support/sim-pair.ts';

/**
 * The drift check (issue 15): a goal deleted or edited by hand in HCM is one the ledger calls written,
 * so a normal run never looks at it again. `goal-sync local --verify` lists HCM once (plan-wide read),
 * re-creates what is missing, corrects what drifted, and reports each with its HCM request count.
 * The simulators run outside the pipeline so the test can change HCM between runs (control API).
 */
const GOALS = 300;

let idp: IdpSim;
let hcm: HcmSim;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verify-'));
  ({ idp, hcm } = await startSimPair());
});

afterAll(async () => {
  await hcm?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

const run = (runId: string, ...extra: string[]) =>
  runLocalInProcess([
    '--goals',
    String(GOALS),
    '--invalid-rate',
    '0',
    '--state-dir',
    dir,
    '--idp-url',
    idp.url,
    '--hcm-url',
    hcm.url,
    '--run-id',
    runId,
    // Below the default 500 records a run would use finders; this one is small to stay fast.
    '--index-min-records',
    '0',
    ...extra,
  ]);

describe('verify pass', () => {
  it('repairs exactly the goals deleted and edited behind its back, and reports them', async () => {
    const first = await run('first');
    expect(first.status).toBe('completed');
    expect(first.goals.created).toBe(GOALS);
    // A first sync: the plan-wide read found nothing and chunks sent no finder (one request per plan).
    expect(first.goalIndex).toMatchObject({ built: true, goals: 0 });
    // The read also took both plans' assignees whole (cheaper than one query per worker and plan
    // for this run's ~60 workers a plan), so chunks sent nothing but the creates.
    const plans = new Set(hcm.goals().map((g) => g.GoalPlanId)).size;
    expect(first.goalIndex).toMatchObject({ assigneePlans: plans });
    expect(first.hcm.requests).toBe(GOALS + first.goalIndex!.requests);

    const goals = hcm.goals().sort((a, b) => a.GoalId - b.GoalId);
    const deleted = [goals[3]!, goals[150]!];
    const edited = [goals[10]!, goals[200]!, goals[299]!];
    for (const g of deleted) await deleteHcmGoal(hcm.url, g.planChildKey);
    const otherStatus = edited[0]!.StatusCode === 'IN_PROGRESS' ? 'NOT_STARTED' : 'IN_PROGRESS';
    await editHcmGoal(hcm.url, edited[0]!.planChildKey, { StatusCode: otherStatus });
    await editHcmGoal(hcm.url, edited[1]!.planChildKey, { Description: 'changed by hand' });
    // Renamed: the natural key no longer matches; the goal the ledger points at is corrected, not doubled.
    await editHcmGoal(hcm.url, edited[2]!.planChildKey, { GoalName: 'renamed by hand' });
    const original = new Map(goals.map((g) => [g.GoalId, g]));

    // Without --verify the ledger says nothing changed: nothing is written, the damage stays.
    const plain = await run('plain');
    expect(plain.hcm.writes).toBe(0);
    expect(plain.goals.unchanged).toBe(GOALS);
    expect(plain.verify).toBeUndefined();
    expect(hcm.goals()).toHaveLength(GOALS - deleted.length);

    const verify = await run('verify', '--verify');
    expect(verify.status).toBe('completed');
    expect(verify.verify).toEqual({
      missing: deleted.length,
      drifted: edited.length,
      repaired: deleted.length + edited.length,
      hcmRequests: verify.hcm.requests,
    });
    // Written: exactly the damaged goals. Requests: the listing (one page per plan and 500 goals), one
    // PATCH per drifted goal, and per missing one a PATCH (404: it is gone, not renamed), its worker's
    // assignment (goalPlanAssignees) and a POST. The renamed goal costs three more (issue 25): its
    // PATCH carries the ETag the ledger stored, which the hand edit moved on, so HCM answers 412 and
    // the goal is read again (its worker's assignment, a finder) before the PATCH that lands.
    expect(verify.hcm.writes).toBe(deleted.length + edited.length);
    // The assignment of a worker with a goal to create comes from plan-sync's read where their plan
    // has two or more such workers (one IN list), else from one live query by the chunk: 0 or 1 each.
    const chunkRequests = verify.hcm.requests - verify.goalIndex!.requests;
    const unread = 3 - verify.goalIndex!.assigneePlans!;
    expect(chunkRequests).toBeGreaterThanOrEqual(2 * deleted.length + edited.length + 2);
    expect(chunkRequests).toBeLessThanOrEqual(2 * deleted.length + edited.length + 2 + unread);
    // Listing pages (one per plan), and per plan with two or more workers to create the first page
    // of its assignees (its size: a 20,000-worker plan is not read whole) and one IN list.
    expect(verify.goalIndex!.requests).toBe(2 + 2 * verify.goalIndex!.assigneePlans!);
    expect(verify.hcm.duplicates).toBe(0);

    const after = hcm.goals();
    expect(after).toHaveLength(GOALS);
    for (const g of edited) {
      const now = after.find((x) => x.GoalId === g.GoalId)!;
      expect(now.GoalName).toBe(original.get(g.GoalId)!.GoalName);
      expect(now.StatusCode).toBe(original.get(g.GoalId)!.StatusCode);
      expect(now.Description ?? null).toBe(original.get(g.GoalId)!.Description ?? null);
    }
    for (const g of deleted) {
      expect(
        after.filter((x) => x.PersonNumber === g.PersonNumber && x.GoalName === g.GoalName),
      ).toHaveLength(1);
    }

    // Verified and repaired: a second verify pass finds nothing and writes nothing.
    const again = await run('verify-again', '--verify');
    expect(again.verify).toMatchObject({ missing: 0, drifted: 0, repaired: 0 });
    expect(again.hcm.writes).toBe(0);
    expect(again.hcm.requests).toBe(again.goalIndex!.requests);
  });
});

import { describe, expect, it } from 'vitest';
import {
  assigneeOf,
  HCM_REST_ROOT,
  hasErrorDetails,
  NoSelfLink,
  planGoalOf,
  refOf,
} from '#core/hcm/index.ts';

const BASE = 'https://pod.example.invalid';
const CHILD = `${HCM_REST_ROOT}/goalPlans/300/child/performanceGoals`;
const KEY = '00020000000EACED0005770800000000000000C9';

describe('plan child items: keys only from the self link', () => {
  it('takes the path and its last segment from links[rel=self], not from any body attribute', () => {
    const item = {
      GoalId: 201,
      GoalName: 'Ship it',
      PersonId: 7,
      // A body attribute of that name is ignored: Oracle does not list one, and a simulator's may differ.
      performanceGoalsUniqID: 'from-the-body',
      links: [
        { rel: 'canonical', href: `${BASE}/other/${KEY}` },
        { rel: 'self', href: `${BASE}${CHILD}/${KEY}`, properties: { changeIndicator: 'ACED0005' } },
      ],
    };
    const goal = planGoalOf(item, 300, BASE);
    expect(goal.ref).toEqual({ goalPlanId: 300, path: `${CHILD}/${KEY}`, uniqId: KEY });
    expect(goal.etag).toBe('"ACED0005"');
    expect(goal).not.toHaveProperty('links');
  });

  it("keeps only the href's path: a self link naming another host never gets a request of ours", () => {
    const ref = refOf(
      { links: [{ rel: 'self', href: `https://elsewhere.invalid${CHILD}/${KEY}` }] },
      300,
      BASE,
    );
    expect(ref.path).toBe(`${CHILD}/${KEY}`);
    expect(refOf({ links: [{ rel: 'self', href: `${CHILD}/a%2Fb` }] }, 300, BASE).uniqId).toBe('a/b');
  });

  it('an item without a self link (onlyData) or with one outside a plan child cannot be addressed', () => {
    expect(() => refOf({ GoalId: 1 }, 300, BASE)).toThrow(NoSelfLink);
    expect(() =>
      refOf({ links: [{ rel: 'self', href: `${BASE}${HCM_REST_ROOT}/performanceGoals/${KEY}` }] }, 300, BASE),
    ).toThrow(/not a plan goal/);
  });

  it('assignees: PersonId, PersonNumber and AssignmentId are required, AssignmentNumber optional', () => {
    expect(
      assigneeOf({ PersonId: 1, PersonNumber: 'E1', AssignmentId: 2, AssignmentNumber: 'E1-1' }),
    ).toEqual({
      PersonId: 1,
      PersonNumber: 'E1',
      AssignmentId: 2,
      AssignmentNumber: 'E1-1',
    });
    expect(assigneeOf({ PersonNumber: 'E1', AssignmentId: 2 })).toBeUndefined();
  });
});

describe('a 500 with o:errorDetails is a business rule, not an unclear outcome', () => {
  it('hasErrorDetails: only an ADF error body with itemised details', () => {
    const body = {
      title: 'Internal Server Error',
      status: '500',
      'o:errorDetails': [{ detail: 'StatusCode is not valid' }],
    };
    expect(hasErrorDetails(JSON.stringify(body))).toBe(true);
    expect(hasErrorDetails(JSON.stringify({ title: 'x', status: '500' }))).toBe(false);
    expect(hasErrorDetails(JSON.stringify({ 'o:errorDetails': [] }))).toBe(false);
    expect(hasErrorDetails('<html>Bad gateway</html>')).toBe(false);
  });
});

import { HcmRequestError } from '../errors.ts';
import type { GoalPlanAssignee, GoalRef, PlanGoal } from './oracle.ts';

/** An ADF item link; the self link's `changeIndicator` is what the item's ETag carries. */
export interface ItemLink {
  rel: string;
  href?: string;
  properties?: { changeIndicator?: string };
}

export type RawItem = Record<string, unknown> & { links?: ItemLink[] };

/** Raised when an item carries no usable self link: the client cannot address the goal. */
export class NoSelfLink extends Error {}

/**
 * The item's reference, from its `links` entry with `rel: "self"` (Oracle: navigate to an item from
 * the collection, never build its key). Only the href's path is kept: requests go to the client's own
 * base URL, so a token is never sent to a host an answer names.
 */
export function refOf(item: RawItem, goalPlanId: number, baseUrl: string): GoalRef {
  const href = item.links?.find((l) => l.rel === 'self')?.href;
  if (!href) throw new NoSelfLink('the item has no links entry with rel "self" (asked with onlyData?)');
  let path: string;
  try {
    path = new URL(href, `${baseUrl}/`).pathname.replace(/\/+$/, '');
  } catch {
    throw new NoSelfLink(`the self link is not a URL: ${href.slice(0, 200)}`);
  }
  const segment = path.slice(path.lastIndexOf('/') + 1);
  if (!path.includes('/child/performanceGoals/') || segment === '')
    throw new NoSelfLink(`the self link is not a plan goal: ${path.slice(0, 200)}`);
  return { goalPlanId, path, uniqId: decodeURIComponent(segment) };
}

/** A plan child item as the client keeps it: attributes, the self link's reference and ETag. */
export function planGoalOf(item: RawItem, goalPlanId: number, baseUrl: string): PlanGoal {
  const { links, ...attributes } = item;
  const ref = refOf(item, goalPlanId, baseUrl);
  if (typeof attributes.GoalId !== 'number' || typeof attributes.GoalName !== 'string')
    throw new HcmRequestError(200, `goal ${ref.uniqId} has no GoalId or GoalName`);
  const indicator = links?.find((l) => l.rel === 'self')?.properties?.changeIndicator;
  return {
    ...(attributes as Omit<PlanGoal, 'ref' | 'etag'>),
    ref,
    ...(indicator ? { etag: `"${indicator}"` } : {}),
  };
}

/** A `goalPlanAssignees` item; one without the attributes the sync needs is left out. */
export function assigneeOf(item: RawItem): GoalPlanAssignee | undefined {
  const { PersonId, PersonNumber, AssignmentId, AssignmentNumber } = item;
  if (typeof PersonId !== 'number' || typeof PersonNumber !== 'string' || typeof AssignmentId !== 'number')
    return undefined;
  return {
    PersonId,
    PersonNumber,
    AssignmentId,
    ...(typeof AssignmentNumber === 'string' ? { AssignmentNumber } : {}),
  };
}

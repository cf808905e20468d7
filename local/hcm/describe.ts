import { type AttributeContract, RESOURCE_ATTRIBUTES, type ResourceName } from './contract/attributes.ts';
import { RESOURCES } from './contract/resources.ts';
import { PAGING } from './contract/rest.ts';

/**
 * `GET <collection>/describe` in ADF's describe shape: `Resources.<name>` with `attributes` (name,
 * type, updatable, mandatory, queryable, allowChanges, maxLength), `collection` and `item` with their
 * actions, and `children`. ADF lists lookups as LOV child references a client must follow; the
 * simulator serves no LOV resources, so describe names no codes (README: what a preflight can check).
 */

const TITLES: Record<ResourceName | 'goalPlans', string> = {
  planGoals: 'Performance Goals',
  performanceGoals: 'Performance Goals',
  associatedGoalPlans: 'Associated Goal Plans',
  goalPlanAssignees: 'Goal Plan Assignees',
  goalPlans: 'Goal Plans',
};

/** Item names as ADF shows them: the plan child is `performanceGoals` too. */
const ADF_NAME: Record<ResourceName, string> = {
  planGoals: 'performanceGoals',
  performanceGoals: 'performanceGoals',
  associatedGoalPlans: 'associatedGoalPlans',
  goalPlanAssignees: 'goalPlanAssignees',
};

function describeAttribute(a: AttributeContract) {
  return {
    name: a.name,
    type: a.type === 'datetime' ? 'datetime' : a.type,
    updatable: a.update,
    mandatory: a.mandatory,
    queryable: a.queryable,
    allowChanges: a.update ? 'always' : a.create ? 'createOnly' : 'never',
    ...(a.maxLength !== undefined ? { maxLength: String(a.maxLength) } : {}),
  };
}

const ACTION = {
  get: { name: 'get', method: 'GET' },
  create: { name: 'create', method: 'POST' },
  update: { name: 'update', method: 'PATCH' },
  delete: { name: 'delete', method: 'DELETE' },
} as const;

const actionsFor = (methods: readonly string[]) =>
  Object.values(ACTION).filter((a) => methods.includes(a.method));

function resourceDescription(name: ResourceName, children: Partial<Record<string, unknown>> = {}) {
  const contract = RESOURCES[name];
  return {
    discrColumnType: false,
    title: TITLES[name],
    titlePlural: TITLES[name],
    attributes: RESOURCE_ATTRIBUTES[name].map(describeAttribute),
    collection: {
      rangeSize: PAGING.defaultLimit,
      finders: [],
      actions: actionsFor(contract.collectionMethods),
    },
    item: { actions: actionsFor(contract.itemMethods) },
    ...(Object.keys(children).length > 0 ? { children } : {}),
  };
}

export function describeResource(resource: ResourceName | 'goalPlans') {
  if (resource === 'goalPlans') {
    return {
      Resources: {
        goalPlans: {
          discrColumnType: false,
          title: TITLES.goalPlans,
          titlePlural: TITLES.goalPlans,
          attributes: [],
          collection: { rangeSize: PAGING.defaultLimit, finders: [], actions: [ACTION.get] },
          item: { actions: [ACTION.get] },
          children: { performanceGoals: resourceDescription('planGoals') },
        },
      },
    };
  }
  const children =
    resource === 'performanceGoals'
      ? { associatedGoalPlans: resourceDescription('associatedGoalPlans') }
      : {};
  return { Resources: { [ADF_NAME[resource]]: resourceDescription(resource, children) } };
}

/**
 * The Oracle pages each contract entry is written from (names as ORACLE-FACTS.md cites them, under
 * docs.oracle.com .../human-resources/farws/ unless another book is named). Where a page is silent the
 * entry says `unconfirmed` and local/hcm/README.md says which way the simulator leans and why.
 */
export const PAGES = {
  frameworkVersion: 'farws/Setting_the_REST_Framework_Version.html',
  planGoalsPost: 'farws/op-goalplans-goalplanid-child-performancegoals-post.html',
  planGoals: 'farws/api-goal-plans-performance-goals.html',
  planGoalsGet: 'farws/op-goalplans-goalplanid-child-performancegoals-get.html',
  planGoalItem: 'farws/op-goalplans-goalplanid-child-performancegoals-performancegoalsuniqid-get.html',
  topLevelGet: 'farws/op-performancegoals-get.html',
  associatedGoalPlans: 'farws/api-performance-goals-associated-goal-plans.html',
  topLevelPrivilege: 'farws/9127Performance_Goals.html',
  goalManagement: 'fauvb/goal-management.html',
  hrgGoals: 'oedmh/hrggoals-21410.html',
  deliveredRules: 'faiau/delivered-rules-for-goals.html',
  planAssignments: 'oedmh/hrggoalplnassignments-6000.html',
  hdlGoals: 'fahbo/examples-of-loading-goals.html',
  goalPlanAssignees: 'farws/op-goalplanassignees-get.html',
  goalPlanAssigneeItem: 'farws/op-goalplanassignees-goalplanassignmentid-get.html',
  goalPlanAssigneesPrivilege: 'farws/Goal_Management__Goal_Plan_Assignees.html',
  batch: 'faaps/Perform_Batch_Actions.html',
} as const;

export type PageRef = (typeof PAGES)[keyof typeof PAGES];

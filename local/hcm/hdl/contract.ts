/**
 * HCM Data Loader as Oracle's pages describe it, the simulator's own reading (never the client's file
 * writer): the data set REST resource, the Goal business object's components the simulator loads, and
 * the reserved characters of a .dat file. Where Oracle is silent the choice is marked `assumed` and
 * listed in docs/hdl.md.
 */
export const HDL_PAGES = {
  dataSets: 'farws/api-hcm-data-loader-data-sets.html',
  uploadFile: 'farws/op-dataloaddatasets-action-uploadfile-post.html',
  createFileDataSet: 'farws/op-dataloaddatasets-action-createfiledataset-post.html',
  failedLines: 'farws/op-dataloaddatasets-requestid-action-generatefailedlinesfile-post.html',
  automating: 'fahdl/overview-of-automating-data-loading.html',
  reservedCharacters: 'fahdl/how-you-manage-reserved-characters.html',
  sourceKeys: 'fahdl/source-keys.html',
  goals: 'fahbo/examples-of-loading-goals.html',
  goalGuidelines: 'fahbo/guidelines-for-loading-goals.html',
} as const;

export const DATA_SETS_RESOURCE = 'dataLoadDataSets';
/** The ADF action media type every dataLoadDataSets action page lists. */
export const ACTION_MEDIA = 'application/vnd.oracle.adf.action+json';
export const ACTION_RESULT_MEDIA = 'application/vnd.oracle.adf.actionresult+json';

/** createFileDataSet's fileAction values the simulator runs (IMPORT_ONLY would stop after the import). */
export const FILE_ACTIONS = ['IMPORT_AND_LOAD', 'IMPORT_ONLY'] as const;

/**
 * Data set status codes (assumed: the resource pages name the attributes' purpose, not their codes):
 * in progress until both stages end, then completed, or completed with errors when any line failed.
 */
export const DATA_SET_STATUS = {
  inProgress: 'ORA_IN_PROGRESS',
  completed: 'ORA_SUCCESS',
  completedWithErrors: 'ORA_ERROR',
} as const;

/**
 * The Goal object's components the simulator loads and the attributes each may carry (Oracle's Goal
 * examples and guidelines; GoalPlanGoal is required for a performance goal). Source keys on every
 * component; a GoalPlanGoal names its goal by the goal's source key, `GoalId(SourceSystemId)`.
 */
export const GOAL_COMPONENTS = {
  Goal: [
    'SourceSystemOwner',
    'SourceSystemId',
    'GoalName',
    'Description',
    'StartDate',
    'TargetCompletionDate',
    'ActualCompletionDate',
    'WorkerPersonNumber',
    'WorkerAssignmentNumber',
    'StatusCode',
    'PercentCompleteCode',
    'PriorityCode',
    'CategoryCode',
    'GoalTypeCode',
    'GoalSourceCode',
    'AssignedByPersonNumber',
  ],
  GoalPlanGoal: [
    'SourceSystemOwner',
    'SourceSystemId',
    'GoalId(SourceSystemId)',
    'GoalPlanName',
    'PriorityCode',
    'Weighting',
  ],
} as const;
export type GoalComponent = keyof typeof GOAL_COMPONENTS;

/** The value that clears an attribute (HDL's #NULL); an empty value leaves it as it is. */
export const HDL_NULL_TOKEN = '#NULL';
/** HDL dates: YYYY/MM/DD. */
export const HDL_DATE = /^(\d{4})\/(\d{2})\/(\d{2})$/;
/** Lookup of valid SourceSystemOwner values (assumed seeded with these in the simulator). */
export const DEFAULT_SOURCE_SYSTEM_OWNERS = ['GOALSYNC', 'HRC_SQLLOADER'] as const;

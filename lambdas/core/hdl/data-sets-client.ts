import { HCM_REST_ROOT } from '#core/hcm/index.ts';
import { HcmRequestError } from '../errors.ts';

/**
 * HCM Data Loader's `dataLoadDataSets` resource (farws/api-hcm-data-loader-data-sets.html) over the
 * pod's REST API: upload a zip (`action/uploadFile`, base64), submit it (`action/createFileDataSet`,
 * IMPORT_AND_LOAD), read a data set's status, its messages, and look one up by its name. The HTTP
 * itself (pacing, token, retries, AmbiguousWriteError on a lost POST answer) is the transport's, the
 * HCM client's `request`. Oracle's pages leave the status codes and counters unnamed: what is assumed
 * is listed in docs/hdl.md ("Where Oracle is silent").
 */
export interface HdlTransport {
  request(
    method: 'GET' | 'POST',
    path: string,
    options?: { query?: Record<string, string>; body?: unknown; headers?: Record<string, string> },
  ): Promise<unknown>;
}

export const DATA_SETS_PATH = `${HCM_REST_ROOT}/dataLoadDataSets`;
/** The ADF action media type the action pages list. */
const ACTION_HEADERS = { 'Content-Type': 'application/vnd.oracle.adf.action+json' };
const MESSAGES_PAGE = 500;

/** Where a data set stands: `running` until import and load both ended. */
export type DataSetPhase = 'running' | 'completed' | 'completed_with_errors';

export interface DataSetState {
  requestId: number;
  name: string;
  phase: DataSetPhase;
  /** The status code as the pod gave it (for the report and a stuck run's error). */
  statusCode: string;
  loadedLines: number;
  failedLines: number;
}

/** One failed line as the data set's messages name it. */
export interface LineMessage {
  sourceSystemId: string;
  component: string;
  fileLine?: number;
  text: string;
}

export interface HdlCallStats {
  uploads: number;
  submissions: number;
  polls: number;
  lookups: number;
  messageReads: number;
}

export const emptyHdlCallStats = (): HdlCallStats => ({
  uploads: 0,
  submissions: 0,
  polls: 0,
  lookups: 0,
  messageReads: 0,
});

/** Status codes (assumed, docs/hdl.md): anything else while loading is read as still running. */
const COMPLETED = 'ORA_SUCCESS';
const COMPLETED_WITH_ERRORS = 'ORA_ERROR';

function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new HcmRequestError(200, `${what}: the answer is not a JSON object`);
  return value as Record<string, unknown>;
}

function actionResult(value: unknown, what: string): Record<string, unknown> {
  return record(record(value, what).result, `${what} result`);
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function stateOf(value: unknown): DataSetState {
  const item = record(value, 'data set');
  const requestId = Number(item.RequestId);
  if (!Number.isSafeInteger(requestId))
    throw new HcmRequestError(200, 'data set: the answer has no RequestId');
  const statusCode = String(item.DataSetStatusCode ?? '');
  const phase: DataSetPhase =
    statusCode === COMPLETED
      ? 'completed'
      : statusCode === COMPLETED_WITH_ERRORS
        ? 'completed_with_errors'
        : 'running';
  return {
    requestId,
    name: String(item.DataSetName ?? ''),
    phase,
    statusCode,
    loadedLines: num(item.LoadedLineCount),
    failedLines: num(item.ImportErrorCount) + num(item.LoadErrorCount),
  };
}

export class HdlDataSets {
  constructor(
    private readonly transport: HdlTransport,
    readonly stats: HdlCallStats = emptyHdlCallStats(),
  ) {}

  /** Uploads a zip under `contentId` (the part's name, so a repeated upload replaces the same content). */
  async upload(fileName: string, contentId: string, zip: Uint8Array): Promise<string> {
    this.stats.uploads += 1;
    const answer = await this.transport.request('POST', `${DATA_SETS_PATH}/action/uploadFile`, {
      headers: ACTION_HEADERS,
      body: { content: Buffer.from(zip).toString('base64'), fileName, contentId },
    });
    const id = actionResult(answer, 'uploadFile').ContentId;
    if (typeof id !== 'string' || id === '') throw new HcmRequestError(200, 'uploadFile: no ContentId');
    return id;
  }

  /** Submits an uploaded file: import and load, under a name that finds the data set again. */
  async create(contentId: string, dataSetName: string): Promise<number> {
    this.stats.submissions += 1;
    const answer = await this.transport.request('POST', `${DATA_SETS_PATH}/action/createFileDataSet`, {
      headers: ACTION_HEADERS,
      body: { contentId, fileAction: 'IMPORT_AND_LOAD', dataSetName },
    });
    const id = Number(actionResult(answer, 'createFileDataSet').RequestId);
    if (!Number.isSafeInteger(id)) throw new HcmRequestError(200, 'createFileDataSet: no RequestId');
    return id;
  }

  /** The data set of this name, if the pod has one (the newest when several). */
  async findByName(dataSetName: string): Promise<DataSetState | undefined> {
    this.stats.lookups += 1;
    const answer = record(
      await this.transport.request('GET', DATA_SETS_PATH, {
        query: { q: `DataSetName=${dataSetName}`, limit: '25' },
      }),
      'dataLoadDataSets',
    );
    const items = Array.isArray(answer.items) ? answer.items.map(stateOf) : [];
    const named = items.filter((s) => s.name === dataSetName);
    return named.sort((a, b) => b.requestId - a.requestId)[0];
  }

  async status(requestId: number): Promise<DataSetState> {
    this.stats.polls += 1;
    return stateOf(await this.transport.request('GET', `${DATA_SETS_PATH}/${requestId}`));
  }

  /** Every message of the data set (all pages): one per failed line. */
  async messages(requestId: number): Promise<LineMessage[]> {
    const out: LineMessage[] = [];
    for (let offset = 0; ; ) {
      this.stats.messageReads += 1;
      const page = record(
        await this.transport.request('GET', `${DATA_SETS_PATH}/${requestId}/child/messages`, {
          query: { offset: String(offset), limit: String(MESSAGES_PAGE) },
        }),
        'data set messages',
      );
      const items = Array.isArray(page.items) ? page.items : [];
      for (const raw of items) {
        const m = record(raw, 'data set message');
        out.push({
          sourceSystemId: String(m.SourceSystemId ?? ''),
          component: String(m.Component ?? ''),
          ...(typeof m.FileLine === 'number' ? { fileLine: m.FileLine } : {}),
          text: String(m.MessageText ?? ''),
        });
      }
      if (page.hasMore !== true || items.length === 0) return out;
      offset += items.length;
    }
  }

  /** A goal plan's name (HDL names the plan, REST its id): one read per plan. */
  async goalPlanName(goalPlanId: number): Promise<string> {
    const plan = record(
      await this.transport.request('GET', `${HCM_REST_ROOT}/goalPlans/${goalPlanId}`),
      'goal plan',
    );
    if (typeof plan.GoalPlanName !== 'string' || plan.GoalPlanName === '')
      throw new HcmRequestError(200, `goal plan ${goalPlanId}: the answer has no GoalPlanName`);
    return plan.GoalPlanName;
  }
}

import { MEDIA, REST_ROOT } from '../contract/rest.ts';
import { SimHttpError } from '../http.ts';
import { ACTION_RESULT_MEDIA, DATA_SETS_RESOURCE } from './contract.ts';
import type { DataSet } from './data-set.ts';
import type { DataSets } from './data-sets.ts';

/**
 * `dataLoadDataSets` over HTTP (HDL_PAGES.dataSets): the uploadFile and createFileDataSet actions,
 * the data set item and collection (finder `q=DataSetName=...`), its `messages` child and the
 * generateFailedLinesFile action. `drop`: the answer is to be lost after the change was kept.
 */
export interface HdlResult {
  status: number;
  body: unknown;
  /** Actions answer ADF action results; items and collections as the REST resources do. */
  contentType: string;
  drop?: boolean;
}

export const isDataSetsPath = (path: string) =>
  path === `${REST_ROOT}/${DATA_SETS_RESOURCE}` || path.startsWith(`${REST_ROOT}/${DATA_SETS_RESOURCE}/`);

const notFound = (what: string) => new SimHttpError(404, `The data set ${what} doesn't exist.`);

function requestIdOf(segment: string | undefined): number {
  if (!segment || !/^\d{1,18}$/.test(segment))
    throw new SimHttpError(404, 'The requested resource does not exist.');
  return Number(segment);
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new SimHttpError(400, 'The request body must be a JSON object of the action parameters.');
  return body as Record<string, unknown>;
}

function item(baseUrl: string, set: DataSet): Record<string, unknown> {
  const self = `${baseUrl}${REST_ROOT}/${DATA_SETS_RESOURCE}/${set.RequestId}`;
  return {
    ...set,
    links: [
      { rel: 'self', href: self, name: DATA_SETS_RESOURCE, kind: 'item' },
      { rel: 'child', href: `${self}/child/messages`, name: 'messages', kind: 'collection' },
    ],
  };
}

function collection(items: unknown[], params: URLSearchParams): Record<string, unknown> {
  const offset = Math.max(0, Number(params.get('offset') ?? 0) || 0);
  const limit = Math.min(500, Math.max(1, Number(params.get('limit') ?? 25) || 25));
  const page = items.slice(offset, offset + limit);
  return { items: page, count: page.length, hasMore: offset + page.length < items.length, limit, offset };
}

/** 403 when the fault `forbidden` takes the data set privilege (or this method on it) away. */
function checkDataSetPrivilege(forbidden: readonly string[], method: string): void {
  if (forbidden.includes(DATA_SETS_RESOURCE) || forbidden.includes(`${method} ${DATA_SETS_RESOURCE}`))
    throw new SimHttpError(403, [
      {
        detail: `The user doesn't have the privilege Load All Data Sets using Data Load Data Sets REST Service (${method} ${DATA_SETS_RESOURCE}).`,
        code: 'FND-403',
      },
    ]);
}

export function handleDataSets(
  dataSets: DataSets,
  method: string,
  path: string,
  params: URLSearchParams,
  body: unknown,
  baseUrl: string,
  forbidden: readonly string[] = [],
): HdlResult {
  checkDataSetPrivilege(forbidden, method);
  const [first, second, third, fourth, ...more] = path
    .slice(`${REST_ROOT}/${DATA_SETS_RESOURCE}`.length)
    .split('/')
    .filter((s) => s !== '');
  if (more.length > 0) throw new SimHttpError(404, 'The requested resource does not exist.');
  if (first === undefined) {
    if (method !== 'GET') throw new SimHttpError(405, `The HTTP method ${method} is not supported.`);
    const q = params.get('q');
    const named = q ? /^DataSetName=(.+)$/.exec(q)?.[1]?.replace(/^"|"$/g, '') : undefined;
    if (q && named === undefined)
      throw new SimHttpError(400, `The query ${q} isn't supported; use DataSetName=<name>.`);
    const sets = dataSets.all().filter((s) => named === undefined || s.DataSetName === named);
    return {
      status: 200,
      body: collection(
        sets.map((s) => item(baseUrl, s)),
        params,
      ),
      contentType: MEDIA.collection,
    };
  }
  if (first === 'action') {
    if (method !== 'POST') throw new SimHttpError(405, `The HTTP method ${method} is not supported.`);
    if (second === 'uploadFile' && third === undefined) {
      const upload = dataSets.upload(asObject(body));
      return {
        status: 200,
        body: { result: { ContentId: upload.contentId, FileName: upload.fileName } },
        contentType: ACTION_RESULT_MEDIA,
        drop: dataSets.dropAnswer('upload'),
      };
    }
    if (second === 'createFileDataSet' && third === undefined) {
      const set = dataSets.create(asObject(body));
      return {
        status: 200,
        body: { result: { RequestId: set.RequestId, DataSetName: set.DataSetName } },
        contentType: ACTION_RESULT_MEDIA,
        drop: dataSets.dropAnswer('submit'),
      };
    }
    throw new SimHttpError(404, `The action ${second ?? ''} isn't an action of ${DATA_SETS_RESOURCE}.`);
  }
  const requestId = requestIdOf(first);
  const set = dataSets.get(requestId);
  if (!set) throw notFound(String(requestId));
  if (second === undefined) {
    if (method !== 'GET') throw new SimHttpError(405, `The HTTP method ${method} is not supported.`);
    return { status: 200, body: item(baseUrl, set), contentType: MEDIA.item };
  }
  if (second === 'child' && third === 'messages' && fourth === undefined && method === 'GET') {
    return {
      status: 200,
      body: collection(dataSets.messages(requestId) ?? [], params),
      contentType: MEDIA.collection,
    };
  }
  if (
    second === 'action' &&
    third === 'generateFailedLinesFile' &&
    fourth === undefined &&
    method === 'POST'
  ) {
    const zip = dataSets.failedLinesZip(requestId)!;
    return {
      status: 200,
      body: {
        result: {
          RequestId: requestId,
          FileName: `${requestId}_failed_lines.zip`,
          content: Buffer.from(zip).toString('base64'),
        },
      },
      contentType: ACTION_RESULT_MEDIA,
    };
  }
  throw new SimHttpError(404, 'The requested resource does not exist.');
}

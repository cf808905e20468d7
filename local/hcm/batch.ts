import { dispatch, type OpMethod } from './dispatch.ts';
import { SimHttpError } from './http.ts';
import { emptyTally, type OpResult, type OpTally, type SimContext } from './resources.ts';
import { splitPath } from './routes.ts';

/**
 * Batch requests (`POST {root}` with application/vnd.oracle.adf.batch+json). Parts run in order inside
 * one store transaction: all-or-none. On success every part is answered in order; on failure nothing
 * is applied and, as Oracle documents, only the failing part is listed, here with its HTTP status
 * and the ADF error body as its payload. The batch answers with that part's status.
 */

/** One part of a batch request (faaps/Perform_Batch_Actions.html). */
interface BatchPart {
  id: string;
  path: string;
  operation: 'get' | 'create' | 'update' | 'replace' | 'delete';
  payload?: Record<string, unknown>;
}

/** A part of the answer; on failure only the failing part, with the status it would have had alone. */
interface BatchResponsePart extends BatchPart {
  status?: number;
}

const OPERATIONS: Record<BatchPart['operation'], OpMethod> = {
  get: 'GET',
  create: 'POST',
  update: 'PATCH',
  replace: 'REPLACE',
  delete: 'DELETE',
};

interface ParsedPart extends BatchPart {
  ifMatch?: string;
}

function parseParts(body: unknown): ParsedPart[] {
  const parts = (body as { parts?: unknown } | undefined)?.parts;
  if (!Array.isArray(parts) || parts.length === 0) {
    throw new SimHttpError(400, 'A batch request needs a non-empty "parts" array.');
  }
  const ids = new Set<string>();
  return parts.map((raw: unknown, index) => {
    const p = (raw ?? {}) as Record<string, unknown>;
    const where = `Batch part ${index + 1}${typeof p.id === 'string' ? ` (${p.id})` : ''}`;
    if (typeof p.id !== 'string' || p.id === '') throw new SimHttpError(400, `${where} needs an "id".`);
    if (ids.has(p.id)) throw new SimHttpError(400, `${where} repeats the id ${p.id}.`);
    ids.add(p.id);
    if (typeof p.path !== 'string' || p.path === '') throw new SimHttpError(400, `${where} needs a "path".`);
    if (typeof p.operation !== 'string' || !(p.operation in OPERATIONS)) {
      throw new SimHttpError(400, `${where} has an unknown operation ${JSON.stringify(p.operation)}.`);
    }
    return {
      id: p.id,
      path: p.path,
      operation: p.operation as BatchPart['operation'],
      ...(p.payload !== undefined ? { payload: p.payload as Record<string, unknown> } : {}),
      ...(typeof p.ifMatch === 'string' ? { ifMatch: p.ifMatch } : {}),
    };
  });
}

class PartFailed extends Error {
  constructor(
    readonly part: ParsedPart,
    readonly error: SimHttpError,
  ) {
    super(error.message);
  }
}

export function runBatch(ctx: SimContext, body: unknown, tally: OpTally): OpResult {
  const parts = parseParts(body);
  const batchTally = emptyTally();
  try {
    const answered = ctx.store.transaction(() => parts.map((part) => runPart(ctx, part, batchTally)));
    for (const key of Object.keys(batchTally) as Array<keyof OpTally>) tally[key] += batchTally[key];
    return { status: 200, body: { parts: answered } };
  } catch (err) {
    if (!(err instanceof PartFailed)) throw err;
    const failed: BatchResponsePart = {
      id: err.part.id,
      path: err.part.path,
      operation: err.part.operation,
      status: err.error.status,
      payload: err.error.body() as unknown as Record<string, unknown>,
    };
    return { status: err.error.status, body: { parts: [failed] } };
  }
}

function runPart(ctx: SimContext, part: ParsedPart, tally: OpTally): BatchResponsePart {
  try {
    const { route, params } = splitPath(part.path);
    const result = dispatch(
      ctx,
      {
        method: OPERATIONS[part.operation],
        route,
        params,
        body: part.payload,
        ...(part.ifMatch ? { ifMatch: part.ifMatch } : {}),
      },
      tally,
    );
    return {
      id: part.id,
      path: part.path,
      operation: part.operation,
      ...(result.body !== undefined ? { payload: result.body as Record<string, unknown> } : {}),
    };
  } catch (err) {
    if (err instanceof SimHttpError) throw new PartFailed(part, err);
    throw err;
  }
}

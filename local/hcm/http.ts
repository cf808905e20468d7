import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { type FrameworkError, MEDIA } from './contract/rest.ts';

export interface ErrorDetail {
  detail: string;
  code?: string;
  /** Attribute the detail is about, shown as `o:errorPath`. */
  path?: string;
}

/**
 * An HTTP answer the simulator gives on purpose (400, 401, 404, 412, 429, injected 5xx). The
 * simulator is a peer, not part of the pipeline, so its refusals are HTTP statuses, not AppErrors.
 */
export class SimHttpError extends Error {
  readonly details: ErrorDetail[];

  constructor(
    readonly status: number,
    details: string | ErrorDetail[],
    readonly headers: Record<string, string> = {},
    /** Answered as a gateway or a crashed server does: an HTML page, no framework error body. */
    readonly bare = false,
  ) {
    const list = typeof details === 'string' ? [{ detail: details }] : details;
    super(list.map((d) => d.detail).join(' '));
    this.name = 'SimHttpError';
    this.details = list;
  }

  body(): FrameworkError {
    return errorBody(this.status, this.details);
  }
}

/** ADF framework-4 error payload, as Fusion REST returns it for `application/vnd.oracle.adf.error+json`. */
export function errorBody(status: number, details: ErrorDetail[]): FrameworkError {
  const first = details[0];
  return {
    type: 'http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html',
    title: STATUS_CODES[status] ?? 'Error',
    status: String(status),
    detail: details.map((d) => d.detail).join(' '),
    ...(first?.code ? { 'o:errorCode': first.code } : {}),
    'o:errorDetails': details.map((d) => ({
      detail: d.detail,
      ...(d.code ? { 'o:errorCode': d.code } : {}),
      ...(d.path ? { 'o:errorPath': d.path } : {}),
    })),
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType: string = MEDIA.json,
): void {
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: SimHttpError): void {
  if (!err.bare) {
    sendJson(res, err.status, err.body(), err.headers, MEDIA.error);
    return;
  }
  const page = `<html><head><title>${err.status} ${STATUS_CODES[err.status] ?? 'Error'}</title></head><body>${err.status}</body></html>`;
  res.writeHead(err.status, { ...err.headers, 'Content-Type': 'text/html' });
  res.end(page);
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Reads and parses a JSON request body; an empty body is `undefined`. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new SimHttpError(413, 'The request body is too large.');
    chunks.push(buf);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new SimHttpError(400, 'The request body is not valid JSON.');
  }
}

export function isJsonMediaType(contentType: string | undefined): boolean {
  return contentType === undefined || /json/i.test(contentType);
}

/** Matches an If-Match / If-None-Match header value against an ETag (`*`, lists, weak tags). */
export function etagMatches(header: string, etag: string): boolean {
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}

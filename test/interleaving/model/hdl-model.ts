import fc from 'fast-check';
import { DATA_SETS_PATH, type HdlTransport } from '#core/hdl/index.ts';
import { AmbiguousWriteError, TransientError } from '../../../lambdas/core/errors.ts';
import type { Actor, World } from './world.ts';

/**
 * Oracle's `dataLoadDataSets` as the HDL submission protocol sees it (docs/hdl.md), over the HdlTransport
 * port: an upload stores content under its content id (the same id replaces it), createFileDataSet
 * starts a data set that loads `loadMs` later, MERGE by source key (the key map holds the content of
 * the last data set that loaded), the DataSetName finder. A POST may be taken and its answer lost
 * (`dropped`), and any request may arrive late: the scheduler releases it whenever it likes, but no
 * later than LATE_ACCEPT_MS after it left (the bound guard H2 assumes, HDL_LATE_ACCEPT_DEFAULT_MS).
 */
export interface HdlCall {
  kind: 'ok' | 'dropped';
  latencyMs: number;
}

export const hdlCallArb: fc.Arbitrary<HdlCall> = fc.record({
  kind: fc.constantFrom<HdlCall['kind']>('ok', 'ok', 'ok', 'dropped'),
  latencyMs: fc.constantFrom(20, 300, 3_000, 60_000),
});

export const LATE_ACCEPT_MS = 5 * 60_000;

/** What a part's zip stands for in the model: which run's content, for which source keys. */
export interface PartContent {
  version: string;
  keys: string[];
}

export const encodePart = (c: PartContent): string => Buffer.from(JSON.stringify(c)).toString('base64');

interface DataSet {
  requestId: number;
  name: string;
  content: PartContent;
  loaded: boolean;
}

export class HdlModel {
  readonly uploads = new Map<string, PartContent>();
  readonly dataSets: DataSet[] = [];
  /** Source key -> the content version the key's goal holds (MERGE: the last load wins). */
  readonly keyMap = new Map<string, string>();
  private nextRequestId = 1;

  constructor(
    private readonly world: World,
    private readonly loadMs: number,
  ) {}

  /** Data sets per name (more than one: a part submitted twice). */
  countsByName(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const d of this.dataSets) counts.set(d.name, (counts.get(d.name) ?? 0) + 1);
    return counts;
  }

  /** One actor's transport: each request a scheduled step, its fault from `plan` (then answered). */
  port(actor: Actor, plan: readonly HdlCall[]): HdlTransport {
    let calls = 0;
    return {
      request: (method, path, options = {}) => {
        // Not cycled: past the plan every call is answered, so a take that retries ends (no livelock).
        const f = plan[calls++] ?? { kind: 'ok', latencyMs: 20 };
        const label = `HDL ${method} ${path.replace(`${DATA_SETS_PATH}`, '').slice(0, 40)}${f.kind === 'dropped' ? ' [answer lost]' : ''}`;
        let applied = false;
        let answer: unknown;
        const apply = () => {
          if (!applied) {
            applied = true;
            answer = this.answer(method, path, options);
          }
          return answer;
        };
        // A request on the wire reaches Oracle by LATE_ACCEPT_MS at the latest (even if its sender died).
        if (method === 'POST' && !actor.dead)
          this.world.deadline(this.world.now + LATE_ACCEPT_MS, () => void apply());
        return this.world.step(actor, label, f.latencyMs, () => {
          const out = apply();
          if (f.kind !== 'dropped') return out;
          if (method === 'POST') throw new AmbiguousWriteError(`HDL ${path}`, 'answer lost (model)');
          throw new TransientError(`HDL ${path}: answer lost (model)`);
        });
      },
    };
  }

  private answer(
    method: 'GET' | 'POST',
    path: string,
    options: { query?: Record<string, string>; body?: unknown },
  ): unknown {
    const body = (options.body ?? {}) as Record<string, string>;
    if (method === 'POST' && path.endsWith('/action/uploadFile')) {
      const content = JSON.parse(Buffer.from(body.content!, 'base64').toString()) as PartContent;
      this.uploads.set(body.contentId!, content);
      return { result: { ContentId: body.contentId, FileName: body.fileName } };
    }
    if (method === 'POST' && path.endsWith('/action/createFileDataSet')) {
      const content = this.uploads.get(body.contentId!);
      if (!content) throw new TransientError(`createFileDataSet: no content ${body.contentId} (model)`);
      const d: DataSet = { requestId: this.nextRequestId++, name: body.dataSetName!, content, loaded: false };
      this.dataSets.push(d);
      this.world.deadline(this.world.now + this.loadMs, () => {
        d.loaded = true;
        for (const k of d.content.keys) this.keyMap.set(k, d.content.version);
        this.world.story.push(`data set ${d.name} (${d.content.version}) loads`);
      });
      return { result: { RequestId: d.requestId, DataSetName: d.name } };
    }
    if (method === 'GET' && path === DATA_SETS_PATH) {
      const name = options.query?.q?.replace(/^DataSetName=/, '');
      return { items: this.dataSets.filter((d) => d.name === name).map(item) };
    }
    const id = Number(path.slice(DATA_SETS_PATH.length + 1));
    const d = this.dataSets.find((x) => x.requestId === id);
    if (method === 'GET' && d) return item(d);
    throw new Error(`HDL model: no answer for ${method} ${path}`);
  }
}

function item(d: DataSet) {
  return {
    RequestId: d.requestId,
    DataSetName: d.name,
    DataSetStatusCode: d.loaded ? 'ORA_SUCCESS' : 'ORA_IN_PROGRESS',
    LoadedLineCount: d.loaded ? d.content.keys.length * 2 : 0,
  };
}

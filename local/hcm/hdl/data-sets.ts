import { unzipSync, zipSync } from 'fflate';
import { mulberry32 } from '../../sample/random.ts';
import { SimHttpError } from '../http.ts';
import { DATA_SET_STATUS, FILE_ACTIONS, GOAL_COMPONENTS } from './contract.ts';
import { type DatRow, parseDat } from './dat-parser.ts';
import type { DataSet, DataSetMessage, HdlFaults } from './data-set.ts';
import { type GoalObject, groupObjects, type LoadContext, loadGoalObject } from './goal-lines.ts';

interface Upload {
  contentId: string;
  fileName: string;
  bytes: Uint8Array;
}

interface Running {
  set: DataSet;
  messages: DataSetMessage[];
  failedLines: Map<string, string[]>;
  objects: GoalObject[];
  next: number;
  stuck: boolean;
  /** File lines the load may still take before the next tick (hdl.loadLinesPerSecond). */
  credit: number;
  /** The file's METADATA line per component, to head the failed-lines file. */
  metadata: Map<string, string>;
}

const TICK_MS = 100;
const FIRST_REQUEST_ID = 300_100_000_000_001;

/**
 * Uploaded files and data sets: createFileDataSet imports the zip (parse, line checks), then loads its
 * Goal objects at `loadLinesPerSecond` on a timer, each all-or-none against the shared goal store.
 */
export class DataSets {
  private readonly uploads = new Map<string, Upload>();
  private readonly sets = new Map<number, Running>();
  private nextRequestId = FIRST_REQUEST_ID;
  private nextContentId = 1;
  private nextMessageId = 1;
  private timer: NodeJS.Timeout | undefined;
  private readonly lineDice: () => number;
  private readonly stuckDice: () => number;
  private readonly dropDice: () => number;

  constructor(
    private readonly ctx: LoadContext,
    private readonly faults: () => HdlFaults,
    seed: number,
  ) {
    this.lineDice = mulberry32(seed ^ 0x3c6ef372);
    this.stuckDice = mulberry32(seed ^ 0x5be0cd19);
    this.dropDice = mulberry32(seed ^ 0x1f83d9ab);
  }

  /** Whether the answer to a stored upload / accepted data set is lost (the server keeps it). */
  dropAnswer(kind: 'upload' | 'submit'): boolean {
    const f = this.faults();
    const rate = kind === 'upload' ? f.uploadDropAfterStoreRate : f.submitDropAfterAcceptRate;
    return rate > 0 && this.dropDice() < rate;
  }

  upload(body: Record<string, unknown>): Upload {
    const { content, contentId, fileName } = body;
    if (typeof content !== 'string' || content === '')
      throw new SimHttpError(400, 'The content parameter is required: the Base64 encoded file.');
    if (!/^[A-Za-z0-9+/=\r\n]+$/.test(content))
      throw new SimHttpError(400, 'The content parameter is not Base64 encoded.');
    const id =
      typeof contentId === 'string' && contentId !== ''
        ? contentId
        : `UCMFA${String(this.nextContentId++).padStart(8, '0')}`;
    const upload = {
      contentId: id,
      fileName: typeof fileName === 'string' && fileName !== '' ? fileName : `${id}.zip`,
      bytes: new Uint8Array(Buffer.from(content, 'base64')),
    };
    this.uploads.set(id, upload);
    return upload;
  }

  create(body: Record<string, unknown>): DataSet {
    const { contentId, fileAction, dataSetName } = body;
    if (typeof contentId !== 'string' || contentId === '')
      throw new SimHttpError(400, 'The contentId parameter is required.');
    const upload = this.uploads.get(contentId);
    if (!upload)
      throw new SimHttpError(400, `No file with the content ID ${contentId} is in the HDL import account.`);
    const action = fileAction ?? 'IMPORT_AND_LOAD';
    if (!(FILE_ACTIONS as readonly unknown[]).includes(action))
      throw new SimHttpError(
        400,
        `The fileAction ${String(action)} isn't valid. Valid values are ${FILE_ACTIONS.join(', ')}.`,
      );
    const now = this.ctx.now();
    const set: DataSet = {
      RequestId: this.nextRequestId++,
      DataSetName: typeof dataSetName === 'string' && dataSetName !== '' ? dataSetName : upload.fileName,
      ContentId: upload.contentId,
      FileName: upload.fileName,
      FileAction: action as string,
      DataSetStatusCode: DATA_SET_STATUS.inProgress,
      ImportStatusCode: DATA_SET_STATUS.inProgress,
      LoadStatusCode: DATA_SET_STATUS.inProgress,
      FileLineCount: 0,
      ImportErrorCount: 0,
      LoadedLineCount: 0,
      LoadErrorCount: 0,
      ObjectsCreated: 0,
      ObjectsUpdated: 0,
      CreationDate: now,
      LastUpdateDate: now,
    };
    const f = this.faults();
    const running: Running = {
      set,
      messages: [],
      failedLines: new Map(),
      objects: [],
      next: 0,
      stuck: f.stuckRate > 0 && this.stuckDice() < f.stuckRate,
      metadata: new Map(),
      credit: 0,
    };
    this.sets.set(set.RequestId, running);
    this.importFile(running, upload);
    this.schedule();
    return set;
  }

  get(requestId: number): DataSet | undefined {
    return this.sets.get(requestId)?.set;
  }
  all(): DataSet[] {
    return [...this.sets.values()].map((r) => r.set);
  }
  messages(requestId: number): DataSetMessage[] | undefined {
    return this.sets.get(requestId)?.messages;
  }

  /** The failed lines per component, with their METADATA lines, as a zip holding Goal.dat. */
  failedLinesZip(requestId: number): Uint8Array | undefined {
    const running = this.sets.get(requestId);
    if (!running) return undefined;
    const lines: string[] = [];
    for (const component of Object.keys(GOAL_COMPONENTS)) {
      const failed = running.failedLines.get(component);
      if (failed && failed.length > 0) lines.push(...failed);
    }
    return zipSync({ 'Goal.dat': new TextEncoder().encode(lines.length > 0 ? `${lines.join('\n')}\n` : '') });
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private importFile(running: Running, upload: Upload): void {
    const set = running.set;
    let text: string | undefined;
    try {
      const files = unzipSync(upload.bytes);
      const dat = Object.keys(files).find((n) => n.toLowerCase().endsWith('.dat'));
      if (dat) text = new TextDecoder().decode(files[dat]);
    } catch {
      // Not a zip: the import fails as a whole below.
    }
    if (text === undefined) {
      set.ImportStatusCode = set.LoadStatusCode = set.DataSetStatusCode = DATA_SET_STATUS.completedWithErrors;
      this.message(running, 0, 'Goal', '', '', 'The file is not a .zip file holding a .dat file.');
      return;
    }
    const { rows, problems } = parseDat(text);
    for (const raw of text.split(/\r?\n/))
      if (raw.startsWith('METADATA|')) running.metadata.set(raw.split('|')[1]!, raw);
    set.FileLineCount = rows.length + problems.filter((p) => p.raw.startsWith('MERGE')).length;
    for (const p of problems) {
      set.ImportErrorCount++;
      this.message(running, p.lineNumber, 'Goal', '', '', p.message);
    }
    running.objects = groupObjects(rows);
    running.failedLines = new Map();
    set.ImportStatusCode =
      set.ImportErrorCount > 0 ? DATA_SET_STATUS.completedWithErrors : DATA_SET_STATUS.completed;
    if (set.FileAction === 'IMPORT_ONLY') this.finish(running);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  private tick(): void {
    // Lines earned per tick; a fraction carries over, so 1 line/s is 1 line/s and not one per tick.
    const perTick = (this.faults().loadLinesPerSecond * TICK_MS) / 1000;
    let active = false;
    for (const running of this.sets.values()) {
      if (running.set.LoadStatusCode !== DATA_SET_STATUS.inProgress || running.stuck) {
        active ||= running.stuck && running.set.LoadStatusCode === DATA_SET_STATUS.inProgress;
        continue;
      }
      active = true;
      running.credit += perTick;
      while (
        running.next < running.objects.length &&
        running.credit >= linesOf(running.objects[running.next]!)
      ) {
        const object = running.objects[running.next++]!;
        running.credit -= linesOf(object);
        this.loadObject(running, object);
      }
      running.set.LastUpdateDate = this.ctx.now();
      if (running.next >= running.objects.length) this.finish(running);
    }
    if (!active) this.close();
  }

  private loadObject(running: Running, object: GoalObject): void {
    const set = running.set;
    const f = this.faults();
    const outcome =
      f.lineErrorRate > 0 && this.lineDice() < f.lineErrorRate
        ? {
            ok: false as const,
            messages: [
              'The line could not be loaded: a goal business rule rejected it (fault hdl.lineErrorRate).',
            ],
          }
        : this.ctx.store.transaction(() => loadGoalObject(object, this.ctx));
    const lines = [object.goal, object.planGoal].filter((r): r is DatRow => r !== undefined);
    if (outcome.ok) {
      set.LoadedLineCount += lines.length;
      if (outcome.created) set.ObjectsCreated++;
      else set.ObjectsUpdated++;
      return;
    }
    set.LoadErrorCount += lines.length;
    for (const row of lines) {
      for (const text of outcome.messages)
        this.message(
          running,
          row.lineNumber,
          row.component,
          object.owner,
          row.attributes.SourceSystemId ?? '',
          text,
        );
      const failed = running.failedLines.get(row.component) ?? [running.metadata.get(row.component) ?? ''];
      failed.push(row.raw);
      running.failedLines.set(row.component, failed);
    }
  }

  private finish(running: Running): void {
    const set = running.set;
    if (set.FileAction === 'IMPORT_ONLY') set.LoadStatusCode = DATA_SET_STATUS.completed;
    else
      set.LoadStatusCode =
        set.LoadErrorCount > 0 ? DATA_SET_STATUS.completedWithErrors : DATA_SET_STATUS.completed;
    set.DataSetStatusCode =
      set.ImportErrorCount + set.LoadErrorCount > 0
        ? DATA_SET_STATUS.completedWithErrors
        : DATA_SET_STATUS.completed;
    set.LastUpdateDate = this.ctx.now();
  }

  private message(
    running: Running,
    line: number,
    component: string,
    owner: string,
    id: string,
    text: string,
  ): void {
    running.messages.push({
      MessageId: this.nextMessageId++,
      FileLine: line,
      BusinessObject: 'Goal',
      Component: component,
      SourceSystemOwner: owner,
      SourceSystemId: id,
      MessageType: 'ERROR',
      MessageText: text,
    });
  }
}

const linesOf = (o: GoalObject) => (o.goal ? 1 : 0) + (o.planGoal ? 1 : 0);

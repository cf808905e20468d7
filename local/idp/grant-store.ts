import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Adapter, AdapterPayload } from 'oidc-provider';

/** Entries outlive their `exp` this long, so an expired token answers "expired", not "not found". */
const EXPIRY_GRACE_MS = 15_000;
/** In-memory sweep of expired entries every this many writes (the log is compacted on open). */
const SWEEP_EVERY_WRITES = 1_000;

interface Entry {
  payload: AdapterPayload;
  /** Epoch ms; null = never. */
  expiresAt: number | null;
}

type LogRecord =
  | { op: 'put'; key: string; payload: AdapterPayload; expiresAt: number | null }
  | { op: 'del'; key: string }
  | { op: 'consume'; key: string; at: number };

const keyOf = (model: string, id: string): string => `${model}:${id}`;

/**
 * A second consume of the same entry. oidc-provider reads a refresh token, awaits other work, then
 * consumes it: two concurrent refreshes with one token could both pass its `consumed` check. This store
 * answers synchronously, so that window is only microtasks wide; compare-and-set closes it for good and
 * turns the race into a reuse detection, as a transactional IdP database would.
 */
export class ConsumedTwiceError extends Error {
  constructor(readonly grantId: string | undefined) {
    super('already consumed');
    this.name = 'ConsumedTwiceError';
  }
}

/**
 * Storage behind every oidc-provider model (grants, refresh tokens, ...). In memory by default; with a
 * log file it is write-through: each change is appended (JSON lines) before the call returns, so a second
 * process on the same state dir replays it and keeps accepting the refresh tokens the first one issued.
 * An append-only log keeps a write to one short line however many tokens exist; it is compacted on open.
 */
export class GrantStore {
  private readonly entries = new Map<string, Entry>();
  /** grantId -> keys of the tokens issued under it (not the Grant entry itself). */
  private readonly byGrant = new Map<string, Set<string>>();
  private writes = 0;

  private constructor(
    private readonly logFile: string | undefined,
    private readonly now: () => number,
  ) {}

  static open(logFile?: string, now: () => number = Date.now): GrantStore {
    const store = new GrantStore(logFile, now);
    if (logFile && existsSync(logFile)) {
      store.replay(readFileSync(logFile, 'utf8'));
      store.compact(logFile);
    }
    return store;
  }

  /** The oidc-provider `adapter` option: one Adapter per model name. */
  readonly adapterFactory = (model: string): Adapter => ({
    upsert: async (id, payload, expiresIn) => {
      const expiresAt = typeof expiresIn === 'number' ? this.now() + expiresIn * 1000 : null;
      this.write({ op: 'put', key: keyOf(model, id), payload, expiresAt });
    },
    find: async (id) => this.read(keyOf(model, id)),
    findByUid: async (uid) => this.findWhere(model, (p) => p.uid === uid),
    findByUserCode: async (code) => this.findWhere(model, (p) => p.userCode === code),
    consume: async (id) => {
      const key = keyOf(model, id);
      const entry = this.entries.get(key);
      if (!entry) return;
      if (entry.payload.consumed) throw new ConsumedTwiceError(entry.payload.grantId);
      this.write({ op: 'consume', key, at: Math.floor(this.now() / 1000) });
    },
    destroy: async (id) => {
      const key = keyOf(model, id);
      if (this.entries.has(key)) this.write({ op: 'del', key });
    },
    revokeByGrantId: async (grantId) => {
      const prefix = `${model}:`;
      for (const key of [...(this.byGrant.get(grantId) ?? [])]) {
        if (key.startsWith(prefix)) this.write({ op: 'del', key });
      }
    },
  });

  /** Grant ids (live) whose clientId matches. */
  grantIdsOfClient(clientId: string): string[] {
    const ids: string[] = [];
    for (const [key, entry] of this.entries) {
      if (key.startsWith('Grant:') && entry.payload.clientId === clientId && this.live(entry)) {
        ids.push(key.slice('Grant:'.length));
      }
    }
    return ids;
  }

  hasGrant(grantId: string): boolean {
    const entry = this.entries.get(keyOf('Grant', grantId));
    return entry !== undefined && this.live(entry);
  }

  /** Deletes the grant and every token issued under it; true if the grant existed. */
  revokeGrant(grantId: string): boolean {
    const existed = this.hasGrant(grantId);
    for (const key of [...(this.byGrant.get(grantId) ?? [])]) this.write({ op: 'del', key });
    if (this.entries.has(keyOf('Grant', grantId))) this.write({ op: 'del', key: keyOf('Grant', grantId) });
    return existed;
  }

  /** Live entries per model, for diagnostics and tests. */
  countByModel(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [key, entry] of this.entries) {
      if (!this.live(entry)) continue;
      const model = key.slice(0, key.indexOf(':'));
      counts[model] = (counts[model] ?? 0) + 1;
    }
    return counts;
  }

  private read(key: string): AdapterPayload | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (!this.live(entry)) {
      this.apply({ op: 'del', key });
      return undefined;
    }
    // A copy: oidc-provider mutates model instances, the store must only change through the adapter.
    return structuredClone(entry.payload);
  }

  private findWhere(model: string, match: (p: AdapterPayload) => boolean): AdapterPayload | undefined {
    for (const [key, entry] of this.entries) {
      if (key.startsWith(`${model}:`) && match(entry.payload)) return this.read(key);
    }
    return undefined;
  }

  private live(entry: Entry): boolean {
    return entry.expiresAt === null || entry.expiresAt + EXPIRY_GRACE_MS > this.now();
  }

  private write(record: LogRecord): void {
    // Log first: if the append throws, memory and disk still agree.
    if (this.logFile) appendFileSync(this.logFile, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    this.apply(record);
    if (++this.writes % SWEEP_EVERY_WRITES === 0) this.sweep();
  }

  private apply(record: LogRecord): void {
    switch (record.op) {
      case 'put': {
        this.unindex(record.key);
        this.entries.set(record.key, { payload: record.payload, expiresAt: record.expiresAt });
        const { grantId } = record.payload;
        if (grantId && !record.key.startsWith('Grant:')) {
          const members = this.byGrant.get(grantId) ?? new Set<string>();
          members.add(record.key);
          this.byGrant.set(grantId, members);
        }
        return;
      }
      case 'del':
        this.unindex(record.key);
        this.entries.delete(record.key);
        return;
      case 'consume': {
        const entry = this.entries.get(record.key);
        if (entry) entry.payload.consumed = record.at;
        return;
      }
    }
  }

  private unindex(key: string): void {
    const grantId = this.entries.get(key)?.payload.grantId;
    if (!grantId) return;
    const members = this.byGrant.get(grantId);
    members?.delete(key);
    if (members?.size === 0) this.byGrant.delete(grantId);
  }

  private sweep(): void {
    for (const [key, entry] of this.entries) if (!this.live(entry)) this.apply({ op: 'del', key });
  }

  private replay(text: string): void {
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        this.apply(JSON.parse(line) as LogRecord);
      } catch {
        // A torn last line from a crash mid-append: everything before it is intact.
      }
    }
    this.sweep();
  }

  private compact(logFile: string): void {
    const lines = [...this.entries].map(([key, { payload, expiresAt }]) =>
      JSON.stringify({ op: 'put', key, payload, expiresAt } satisfies LogRecord),
    );
    const tmp = `${logFile}.${process.pid}.tmp`;
    writeFileSync(tmp, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
    renameSync(tmp, logFile);
  }
}

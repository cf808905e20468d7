import { ConfigError } from '../errors.ts';

/**
 * How the source's vocabulary becomes a tenant's codes (docs/architecture.md "Goal mapping"). Oracle
 * documents the status codes NOT_STARTED, IN_PROGRESS and COMPLETED only; categories and percent-complete
 * codes are lookups every tenant defines. The operator states the tenant's codes (stack context
 * `goalStatusMap`, `goalCategoryMap`, `goalPercentCodes`; `goal-sync local` / `validate` flags
 * `--status-map`, `--category-map`, `--percent-codes`), each `SOURCE=CODE,SOURCE=CODE`.
 */
export interface GoalMapping {
  /** Source status -> StatusCode. A status without an entry is a record error. */
  status: Readonly<Record<string, string>>;
  /** Source category -> CategoryCode. Undefined: the source's category is the tenant's code as it is. */
  category?: Readonly<Record<string, string>>;
  /** Source percent (0-100, rounded down) -> PercentCompletion code: inclusive ranges, no overlaps. */
  percent: ReadonlyArray<PercentRange>;
}

export interface PercentRange {
  from: number;
  to: number;
  code: string;
}

/** Where an operator extends each map: named in every record error the map causes. */
export const MAPPING_KEYS = {
  status: { context: 'goalStatusMap', flag: '--status-map' },
  category: { context: 'goalCategoryMap', flag: '--category-map' },
  percent: { context: 'goalPercentCodes', flag: '--percent-codes' },
} as const;

/**
 * The defaults: the three documented statuses as they are, CANCELLED as CANCEL (the code public
 * integrations send; not in Oracle's list, so check it with preflight), ON_HOLD unmapped (no documented
 * code: a record error until the operator names the tenant's); categories as they are; percent in
 * quarter steps 0/25/50/75/100 (delivered rules set 0, 25 and 100; 50 and 75 are assumed).
 */
export const DEFAULT_GOAL_MAPPING: GoalMapping = {
  status: {
    NOT_STARTED: 'NOT_STARTED',
    IN_PROGRESS: 'IN_PROGRESS',
    COMPLETED: 'COMPLETED',
    CANCELLED: 'CANCEL',
  },
  percent: [
    { from: 0, to: 24, code: '0' },
    { from: 25, to: 49, code: '25' },
    { from: 50, to: 74, code: '50' },
    { from: 75, to: 99, code: '75' },
    { from: 100, to: 100, code: '100' },
  ],
};

export interface MappingSettings {
  statusMap?: unknown;
  categoryMap?: unknown;
  percentCodes?: unknown;
}

const CODE_RE = /^[A-Za-z0-9_.-]{1,30}$/;

/**
 * The operator's settings over the defaults: a status map adds to (and overrides) the default one, a
 * category map replaces pass-through, percent codes replace the default ranges. Throws ConfigError
 * naming the setting. Values are `A=B,C=D` strings (CLI, context) or objects (cdk.json).
 */
export function parseGoalMapping(s: MappingSettings = {}): GoalMapping {
  const status = s.statusMap === undefined ? {} : pairs(s.statusMap, 'status');
  const category = s.categoryMap === undefined ? undefined : pairs(s.categoryMap, 'category');
  const percent = s.percentCodes === undefined ? DEFAULT_GOAL_MAPPING.percent : ranges(s.percentCodes);
  return {
    status: { ...DEFAULT_GOAL_MAPPING.status, ...status },
    ...(category ? { category } : {}),
    percent,
  };
}

function where(kind: keyof typeof MAPPING_KEYS): string {
  return `${MAPPING_KEYS[kind].context} / ${MAPPING_KEYS[kind].flag}`;
}

function entries(value: unknown, kind: keyof typeof MAPPING_KEYS): Array<[string, string]> {
  if (typeof value === 'string') {
    return value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0)
      .map((part) => {
        const eq = part.indexOf('=');
        if (eq <= 0) throw new ConfigError(`${where(kind)}: '${part}' is not SOURCE=CODE`);
        return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
      });
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
  }
  throw new ConfigError(`${where(kind)}: expected SOURCE=CODE,SOURCE=CODE`);
}

function pairs(value: unknown, kind: 'status' | 'category'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [from, to] of entries(value, kind)) {
    if (!CODE_RE.test(to))
      throw new ConfigError(`${where(kind)}: code '${to}' for ${from} must be 1-30 of A-Z a-z 0-9 _ . -`);
    if (from in out) throw new ConfigError(`${where(kind)}: ${from} is mapped twice`);
    out[from] = to;
  }
  return out;
}

/** `0-24=0,25-49=25,...,100=100`: every integer 0..100 must fall in exactly one range. */
function ranges(value: unknown): PercentRange[] {
  const out: PercentRange[] = [];
  for (const [span, code] of entries(value, 'percent')) {
    const m = /^(\d{1,3})(?:-(\d{1,3}))?$/.exec(span);
    if (!m) throw new ConfigError(`${where('percent')}: '${span}' is not FROM-TO or N (0-100)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > to || to > 100) throw new ConfigError(`${where('percent')}: '${span}' is not within 0-100`);
    if (!CODE_RE.test(code))
      throw new ConfigError(`${where('percent')}: code '${code}' is not a lookup code`);
    out.push({ from, to, code });
  }
  out.sort((a, b) => a.from - b.from);
  let next = 0;
  for (const r of out) {
    if (r.from !== next)
      throw new ConfigError(
        `${where('percent')}: ${r.from < next ? `${r.from} is in two ranges` : `${next}-${r.from - 1} has no code`}`,
      );
    next = r.to + 1;
  }
  if (next !== 101) throw new ConfigError(`${where('percent')}: ${next}-100 has no code`);
  return out;
}

/** The mapping as one environment value (JSON), for the Lambdas that map records. */
export function mappingToEnv(mapping: GoalMapping): string {
  return JSON.stringify(mapping);
}

export function mappingFromEnv(value: string | undefined): GoalMapping {
  if (value === undefined || value === '') return DEFAULT_GOAL_MAPPING;
  let raw: Partial<GoalMapping>;
  try {
    raw = JSON.parse(value) as Partial<GoalMapping>;
  } catch {
    throw new ConfigError('the goal mapping in the environment is not JSON');
  }
  return parseGoalMapping({
    statusMap: raw.status,
    ...(raw.category ? { categoryMap: raw.category } : {}),
    percentCodes: Object.fromEntries(
      (raw.percent ?? DEFAULT_GOAL_MAPPING.percent).map((r) => [
        r.from === r.to ? String(r.from) : `${r.from}-${r.to}`,
        r.code,
      ]),
    ),
  });
}

import { PerSecondCounts } from '../timeline/per-second.ts';
import type { HcmTimeline } from '../timeline/types.ts';
import type { Route } from './routes.ts';

/** Per-second request and write counts for the run report's charts; bounded (see PerSecondCounts). */
export class HcmTimelineRecorder {
  private readonly requests: PerSecondCounts;
  private readonly writes: PerSecondCounts;

  constructor(maxSeconds?: number) {
    this.requests = new PerSecondCounts(maxSeconds);
    this.writes = new PerSecondCounts(maxSeconds);
  }

  request(atMs: number, route: string, status: number, tokenIat: number | null): void {
    this.requests.add(atMs, `${route}|${status}|${tokenIat ?? ''}`);
  }

  write(atMs: number): void {
    this.writes.add(atMs, 'w');
  }

  snapshot(): HcmTimeline {
    return {
      requests: this.requests.entries().map(({ second, key, n }) => {
        const [route = '', status = '0', iat = ''] = key.split('|');
        return { second, route, status: Number(status), tokenIat: iat === '' ? null : Number(iat), n };
      }),
      writes: this.writes.entries().map(({ second, n }) => ({ second, n })),
      droppedSeconds: Math.max(this.requests.droppedSeconds, this.writes.droppedSeconds),
    };
  }

  reset(): void {
    this.requests.clear();
    this.writes.clear();
  }
}

/** `POST goals`, `GET goal`, ...: the method and the resource kind, never ids or query strings. */
/** Labels the run report's charts group by: goal collections are `goals`, goal items `goal`. */
const LABELS: Partial<Record<Route['kind'], string>> = {
  planGoals: 'goals',
  topGoals: 'goals',
  planGoal: 'goal',
  topGoal: 'goal',
};

export const routeLabel = (method: string, route: Route | undefined): string =>
  `${method} ${route ? (LABELS[route.kind] ?? route.kind) : 'unknown'}`;

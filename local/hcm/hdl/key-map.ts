import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const KEY_MAP_FILE_NAME = 'hcm-sim-hdl-keys.jsonl';

/**
 * Oracle's integration key map (fahdl/source-keys.html) as the simulator keeps it: SourceSystemOwner +
 * SourceSystemId of a Goal -> its GoalId. With a state directory every new key is appended (one
 * synchronous line, like the goal journal) before the object counts as loaded, so a restarted
 * simulator still updates by key instead of creating a twin. A torn last line is dropped.
 */
export class IntegrationKeyMap {
  private readonly keys = new Map<string, number>();
  private readonly file: string | undefined;

  constructor(stateDir?: string) {
    if (!stateDir) return;
    mkdirSync(stateDir, { recursive: true });
    this.file = join(stateDir, KEY_MAP_FILE_NAME);
    if (!existsSync(this.file)) return;
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      try {
        const [key, goalId] = JSON.parse(line) as [string, number];
        this.keys.set(key, goalId);
      } catch {
        // blank or the torn tail of a write the process did not survive
      }
    }
  }

  get(key: string): number | undefined {
    return this.keys.get(key);
  }

  set(key: string, goalId: number): void {
    this.keys.set(key, goalId);
    if (this.file) appendFileSync(this.file, `${JSON.stringify([key, goalId])}\n`);
  }
}

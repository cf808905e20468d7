import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../local/adapters/dynalite.ts';
import { parseLocalArgs, UsageError } from '../../local/runner/options.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { runLocalInProcess } from '../support/campaign.ts';

let dir: string;
let dynamo: LocalDynamo;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dynamo-url-'));
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Moves a FY2026 goal to the FY2027 plan (its dates and review period with it): an identity change. */
function toNextPlan(line: string): string {
  const r = JSON.parse(line) as Record<string, unknown>;
  const year = (d: unknown) => String(d).replace(/^2026/, '2027');
  return JSON.stringify({
    ...r,
    goalPlanId: 300000009990002,
    reviewPeriodId: 300000009980002,
    startDate: year(r.startDate),
    targetCompletionDate: year(r.targetCompletionDate),
  });
}

describe('goal-sync local --dynamo-url', () => {
  it('keeps every checkpoint in the given DynamoDB; the identity changes are read back from it', async () => {
    const source = join(dir, 'goals.jsonl');
    await writeSampleFile(source, { goals: 40, seed: 5, invalidRate: 0 });
    const stateDir = join(dir, 'state');
    const common = ['--source', source, '--state-dir', stateDir, '--dynamo-url', dynamo.endpoint];
    const fast = ['--latency', '0', '--rate-limit', '1000', '--token-ttl', '60'];
    const first = await runLocalInProcess([...common, ...fast, '--run-id', 'first']);
    expect(first.status).toBe('completed');
    expect(first.goals.created).toBe(40);

    const lines = (await readFile(source, 'utf8')).trim().split('\n');
    const moved = lines
      .flatMap((l, i) => (l.includes('"goalPlanId":300000009990001') ? [i] : []))
      .slice(0, 2);
    expect(moved).toHaveLength(2);
    for (const i of moved) lines[i] = toNextPlan(lines[i]!);
    await writeFile(source, `${lines.join('\n')}\n`);
    const second = await runLocalInProcess([...common, ...fast, '--run-id', 'second']);
    expect(second.status).toBe('completed');
    expect(second.goals).toMatchObject({ created: 2, unchanged: 38 });
    const keys = moved.map((i) => (JSON.parse(lines[i]!) as { externalKey: string }).externalKey).sort();
    expect(second.identityChanges?.map((c) => c.key).sort()).toEqual(keys);

    // Both runs' items live in the endpoint we passed; the run kept no database of its own.
    const runs = await dynamo.doc.send(
      new ScanCommand({
        TableName: 'goal-sync-checkpoints',
        FilterExpression: 'sk = :run',
        ExpressionAttributeValues: { ':run': 'RUN' },
      }),
    );
    expect((runs.Items ?? []).map((i) => i.runId).sort()).toEqual(['first', 'second']);
  });

  it('refuses an endpoint that is not local', () => {
    expect(() => parseLocalArgs(['--dynamo-url', 'https://dynamodb.us-east-1.amazonaws.com'])).toThrow(
      UsageError,
    );
    expect(() => parseLocalArgs(['--dynamo-url', 'not a url'])).toThrow(/--dynamo-url/);
    const o = parseLocalArgs(['--dynamo-url', 'http://127.0.0.1:8000/']);
    expect(o !== 'help' && o.dynamoUrl).toBe('http://127.0.0.1:8000');
  });
});

import { describe, expect, it } from 'vitest';
import { parseDat, splitDatLine } from '../../local/hcm/hdl/dat-parser.ts';

/** The simulator's own reading of a .dat file (Oracle's reserved-characters page), not the client's. */
describe('HCM simulator .dat parser', () => {
  it('splits on unescaped |, reads \\| \\n and \\\\ as data', () => {
    expect(splitDatLine('MERGE|Goal|a\\|b|line\\nnext|back\\\\slash|')).toEqual([
      'MERGE',
      'Goal',
      'a|b',
      'line\nnext',
      'back\\slash',
      '',
    ]);
  });

  it('names MERGE values by their METADATA line; skips COMMENT and blank lines; reads CRLF files', () => {
    const { rows, problems } = parseDat(
      'COMMENT goals\r\nMETADATA|Goal|SourceSystemOwner|SourceSystemId|GoalName\r\n\r\nMERGE|Goal|GOALSYNC|K1|One\r\n',
    );
    expect(problems).toEqual([]);
    expect(rows).toEqual([
      {
        lineNumber: 4,
        raw: 'MERGE|Goal|GOALSYNC|K1|One',
        component: 'Goal',
        attributes: { SourceSystemOwner: 'GOALSYNC', SourceSystemId: 'K1', GoalName: 'One' },
      },
    ]);
  });

  it('reports what the import rejects, by line: component, attribute, order, value count, instruction', () => {
    const { rows, problems } = parseDat(
      [
        'MERGE|Goal|GOALSYNC|K0',
        'METADATA|GoalCheese|SourceSystemId',
        'METADATA|Goal|SourceSystemOwner|SourceSystemId|Colour',
        'METADATA|Goal|SourceSystemOwner|SourceSystemId',
        'MERGE|Goal|GOALSYNC',
        'DELETE|Goal|GOALSYNC|K2',
        'MERGE|Goal|GOALSYNC|K3',
      ].join('\n'),
    );
    expect(problems.map((p) => [p.lineNumber, p.message])).toEqual([
      [1, 'No METADATA line for the component Goal precedes this line.'],
      [2, "The component GoalCheese isn't valid for the business object Goal."],
      [3, "The attribute Colour isn't valid for the component Goal."],
      [5, 'The line has 1 values; its METADATA line names 2 attributes.'],
      [6, "The instruction DELETE isn't supported here."],
    ]);
    expect(rows.map((r) => r.attributes.SourceSystemId)).toEqual(['K3']);
  });
});

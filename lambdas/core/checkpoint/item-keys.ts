/**
 * Key layout of the checkpoint table (single table, pk/sk strings; see tables.ts). Everything about one
 * run lives under one partition so a run can be read, aggregated and expired together; the ledger lives
 * outside runs because it must survive them.
 */
export const RUN_SK = 'RUN';
export const REPORT_SK = 'REPORT';
export const LEDGER_SK = 'LEDGER';

export const SK_PREFIX = {
  invalid: 'INVALID#',
  record: 'REC#',
  chunk: 'CHUNK#',
  chunkRef: 'CHUNKREF#',
  hdlPart: 'HDLPART#',
} as const;

export const runPk = (runId: string): string => `RUN#${runId}`;

// Zero-padded so the sort key order is the line / chunk order (reports list invalid lines in file order).
export const invalidSk = (line: number): string => `${SK_PREFIX.invalid}${String(line).padStart(10, '0')}`;
export const recordSk = (externalKey: string): string => `${SK_PREFIX.record}${externalKey}`;
export const chunkSk = (index: number): string => `${SK_PREFIX.chunk}${String(index).padStart(7, '0')}`;
export const hdlPartSk = (part: number): string => `${SK_PREFIX.hdlPart}${String(part).padStart(5, '0')}`;
export const chunkRefSk = (index: number): string => `${SK_PREFIX.chunkRef}${String(index).padStart(7, '0')}`;

/**
 * The ledger is scoped by connection as well as by external key: the same source synced into two HCM
 * tenants (two connections) must not see the other tenant's goals as "unchanged".
 */
export const ledgerPk = (connectionId: string, externalKey: string): string =>
  `LEDGER#${connectionId}#${externalKey}`;

export interface ItemKey {
  pk: string;
  sk: string;
}

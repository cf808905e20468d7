/**
 * What Excel does to a goal file when it is opened and saved again, recognised from the value a field
 * failed with, so the reason says what happened and how to export instead (the value itself is never
 * quoted: reasons name what is wrong, not what a record contains).
 */
const DATE_FIELDS = new Set(['startDate', 'targetCompletionDate', 'actualCompletionDate']);
const NUMBER_FIELDS = new Set(['goalPlanId', 'reviewPeriodId', 'weight', 'percentComplete']);

const LOCALE_DATE = /^\d{1,2}[./-]\d{1,2}[./-](\d{2}|\d{4})$/;
const SCIENTIFIC = /^[+-]?\d+([.,]\d+)?E[+-]?\d+$/i;
const DECIMAL_COMMA = /^[+-]?\d+,\d+$/;
/** Excel's day numbers for 1982..2091: a date column saved as "General" number. */
const DATE_SERIAL = /^(3|4|5|6)\d{4}$/;

export function excelArtefact(field: string, input: unknown): string | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return undefined;
  const value = String(input).trim();
  if (SCIENTIFIC.test(value)) {
    return 'in scientific notation (Excel shows long numbers as 3.00000E+14 and saves them so, dropping digits); format the column as Number with 0 decimal places, or Text, before saving';
  }
  if (DATE_FIELDS.has(field) && LOCALE_DATE.test(value)) {
    return "is a day/month/year date as Excel writes it in your locale's date format; format the column as yyyy-mm-dd (Format Cells > Custom) before saving, only YYYY-MM-DD is read";
  }
  if (DATE_FIELDS.has(field) && DATE_SERIAL.test(value)) {
    return 'is a number where a date belongs (Excel saved the date as its day number); format the column as yyyy-mm-dd (Format Cells > Custom) before saving';
  }
  if (NUMBER_FIELDS.has(field) && DECIMAL_COMMA.test(value)) {
    return 'has a decimal comma (Excel in a locale that writes 12,5); use a decimal point';
  }
  return undefined;
}

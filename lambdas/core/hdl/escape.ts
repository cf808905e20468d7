/**
 * HCM Data Loader's reserved characters in a .dat file (Oracle, "How You Manage Reserved Characters",
 * fahdl/how-you-manage-reserved-characters.html): the delimiter `|`, the new line and the escape
 * character `\`. A `|` or a new line inside a value is written preceded by the escape character
 * (`\|`, and `\n` for a new line). The page lists the escape character itself as reserved without an
 * example; a literal backslash is written escaped by itself (`\\`), so that a value ending in `\` or
 * holding `\n` as text reads back as written. A carriage return (alone or before a line feed) is a new
 * line too: a source written on Windows must not end a .dat line in the middle of a value.
 */
export const HDL_DELIMITER = '|';
export const HDL_ESCAPE = '\\';

export function escapeHdlValue(value: string): string {
  let out = '';
  const text = value.replace(/\r\n?/g, '\n');
  for (const ch of text) {
    if (ch === HDL_ESCAPE) out += '\\\\';
    else if (ch === HDL_DELIMITER) out += '\\|';
    else if (ch === '\n') out += '\\n';
    else out += ch;
  }
  return out;
}

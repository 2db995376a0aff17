/**
 * CSV files of numbers: an optional header row, then one row of numbers per time step. Anything else is
 * refused with the line and column at fault, because a model silently trained on a shifted or half-parsed
 * table is worse than no model.
 */
import { CliError } from './errors.js';

export interface NumericTable {
  /** Column names: the header's, or 'column 1', 'column 2', … when the file has none. */
  columns: string[];
  header: boolean;
  /** rows × columns values, row-major. */
  values: Float64Array;
  rows: number;
}

/** Parses CSV text (comma, tab or semicolon separated, picked from the first line) into a table of numbers. */
export function parseNumericCsv(text: string, path: string): NumericTable {
  const lines = text
    .split('\n')
    .map((line, i) => ({ line, number: i + 1 }))
    .filter((l) => l.line.trim() !== '');
  if (lines.length === 0) throw new CliError(`${path} has no rows; give a CSV with one row of numbers per time step`);
  const separator = ['\t', ',', ';'].find((s) => lines[0].line.includes(s)) ?? ',';
  const first = splitRow(lines[0].line, separator, path, lines[0].number);
  const header = first.some((cell) => parseNumber(cell) === null);
  const width = first.length;
  const columns = header ? first.map((name, i) => name || `column ${i + 1}`) : first.map((_, i) => `column ${i + 1}`);
  const seen = new Set<string>();
  for (const name of columns) {
    if (seen.has(name)) throw new CliError(`${path}: the header names column '${name}' twice; give each column its own name`);
    seen.add(name);
  }
  const body = header ? lines.slice(1) : lines;
  if (body.length === 0) throw new CliError(`${path} has a header but no rows of numbers below it`);
  const values = new Float64Array(body.length * width);
  body.forEach(({ line, number }, r) => {
    const cells = splitRow(line, separator, path, number);
    if (cells.length !== width) {
      throw new CliError(
        `${path} line ${number} has ${cells.length} cell${cells.length === 1 ? '' : 's'} but ${header ? 'the header' : `line ${lines[0].number}`} has `
          + `${width}; every row needs the same ${width} columns`,
      );
    }
    cells.forEach((cell, c) => {
      const value = parseNumber(cell);
      if (value === null) {
        const where = `${path} line ${number}, column ${header ? `'${columns[c]}'` : c + 1}`;
        throw new CliError(
          cell === ''
            ? `${where} is empty; fill in every cell (missing values cannot be trained on)`
            : `${where}: '${cell}' is not a number; every cell${header ? ' below the header' : ''} must be a number`,
        );
      }
      values[r * width + c] = value;
    });
  });
  return { columns, header, values, rows: body.length };
}

/** A finite number, or null for anything else (empty, text, NaN, Infinity). */
function parseNumber(cell: string): number | null {
  if (cell === '') return null;
  const value = Number(cell);
  return Number.isFinite(value) ? value : null;
}

/** The trimmed cells of one row; double-quoted cells may hold the separator and "" for a quote. */
function splitRow(line: string, separator: string, path: string, number: number): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ') i++;
    let cell = '';
    if (line[i] === '"') {
      for (i++; ; i++) {
        if (i >= line.length) throw new CliError(`${path} line ${number} has a quote that is never closed`);
        if (line[i] === '"' && line[i + 1] === '"') cell += line[i++];
        else if (line[i] === '"') break;
        else cell += line[i];
      }
      i++;
      const end = line.indexOf(separator, i);
      const rest = (end < 0 ? line.slice(i) : line.slice(i, end)).trim();
      if (rest) throw new CliError(`${path} line ${number} has text after a closing quote ('${rest}')`);
      i = end < 0 ? line.length : end;
    } else {
      const end = line.indexOf(separator, i);
      cell = (end < 0 ? line.slice(i) : line.slice(i, end)).trim();
      i = end < 0 ? line.length : end;
    }
    cells.push(cell);
    if (i >= line.length) return cells;
    i += separator.length;
  }
}

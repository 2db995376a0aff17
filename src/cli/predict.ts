/**
 * `rnn-wasm predict <checkpoint> <csv>`: a CSV model's predictions, as CSV on standard output, in the
 * training file's units. A next-value model forecasts the rows after the file's last one from a context
 * of its last --seq-len rows (as it was trained: windows starting from a zero state), feeding each forecast
 * back for --ahead > 1. A target model predicts its column at every row from the window of rows ending there.
 */
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { readCheckpoint } from './checkpoint.js';
import { type NumericTable, parseNumericCsv } from './csv.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { readText } from './files.js';
import type { SeriesModel } from './task.js';
import type { RNN } from '../index.js';

export const spec: CommandSpec = {
  name: 'predict',
  usage: 'predict <checkpoint> <csv> [options]',
  summary:
    'Predicts with a CSV model trained by rnn-wasm train. A next-value model prints the forecast of the rows\n'
    + "after the file's last; a --target model prints its column for every row of the file.",
  positionals: ['<checkpoint>', '<csv>'],
  options: {
    ahead: { type: 'string', value: '<n>', help: 'next-value models: rows to forecast, each fed back as the next input (default 1)' },
  },
};

/** Windows predicted per call for a target model: bounds the activation memory for long files. */
const WINDOWS_PER_CALL = 256;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) {
    process.stdout.write(commandHelp(spec));
    return EXIT.ok;
  }
  const [path, csv] = parsed.positionals;
  const ahead = parsed.options.int('ahead', 1, { min: 1, max: 100_000 });
  const table = parseNumericCsv(readText(csv, 'a CSV of numbers with the columns the model was trained on'), csv);
  const { net, meta } = await readCheckpoint(path);
  try {
    const model = meta.model;
    if (model.kind !== 'series') {
      throw new CliError(`${path} is a character model, which writes text; use rnn-wasm generate ${path}`);
    }
    if (model.mode === 'target' && parsed.options.has('ahead')) {
      throw new UsageError(
        `--ahead forecasts next values, but ${path} predicts '${model.columns[model.outputs[0]]}' from the other columns at each row; leave --ahead out`,
      );
    }
    const inputs = inputColumns(model, table, csv);
    const x = normalisedInputs(model, table, inputs);
    const T = meta.settings.seqLen;
    const lines = model.mode === 'next' ? forecast(net, model, x, T, ahead) : perRow(net, model, x, table.rows, T);
    process.stdout.write(`${lines.join('\n')}\n`);
    if (model.mode === 'target') reportError(model, table, csv, lines);
    return EXIT.ok;
  } finally {
    net.dispose();
  }
}

/**
 * Where each of the model's input columns is in the file: by name when both the model's training file and
 * this one have a header, else by position (the file holding all the training columns, or only the inputs).
 */
function inputColumns(model: SeriesModel, table: NumericTable, csv: string): number[] {
  const names = (cols: number[]) => cols.map((c) => `'${model.columns[c]}'`).join(', ');
  if (model.header && table.header) {
    return model.inputs.map((c) => {
      const at = table.columns.indexOf(model.columns[c]);
      if (at < 0) throw new CliError(`${csv} has no column '${model.columns[c]}'; the model reads ${names(model.inputs)}`);
      return at;
    });
  }
  const width = table.columns.length;
  if (width === model.columns.length) return model.inputs;
  if (width === model.inputs.length) return model.inputs.map((_, i) => i);
  throw new CliError(
    `${csv} has ${width} columns; the model reads ${model.inputs.length} (${names(model.inputs)})`
      + `${model.mode === 'target' ? `, or ${model.columns.length} with '${model.columns[model.outputs[0]]}'` : ''}, in the training file's order`,
  );
}

/** The file's input columns in normalised units, [rows, I]. */
function normalisedInputs(model: SeriesModel, table: NumericTable, at: number[]): Float32Array {
  const C = table.columns.length;
  const I = at.length;
  const x = new Float32Array(table.rows * I);
  for (let r = 0; r < table.rows; r++) {
    at.forEach((col, i) => {
      const c = model.inputs[i];
      x[r * I + i] = (table.values[r * C + col] - model.mean[c]) / model.std[c];
    });
  }
  return x;
}

const format = (v: number) => Number(v.toPrecision(6)).toString();
const header = (model: SeriesModel) => model.outputs.map((c) => csvCell(model.columns[c])).join(',');
const csvCell = (name: string) => (/[",\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name);

/** The next `ahead` rows after the file's last, from its last T rows. */
function forecast(net: RNN, model: SeriesModel, x: Float32Array, T: number, ahead: number): string[] {
  const C = model.inputs.length;
  const rows = x.length / C;
  const context = Math.min(rows, T);
  const prompt = { data: x.subarray((rows - context) * C), shape: [context, 1, C] };
  const { y } = net.generate(prompt, { steps: ahead });
  const lines = [header(model)];
  for (let s = 0; s < ahead; s++) {
    lines.push(model.outputs.map((c, o) => format(y.data[s * C + o] * model.std[c] + model.mean[c])).join(','));
  }
  return lines;
}

/** The target at every row, each from the window of up to T rows ending at it (shorter at the start). */
function perRow(net: RNN, model: SeriesModel, x: Float32Array, rows: number, T: number): string[] {
  const I = model.inputs.length;
  const target = model.outputs[0];
  const lines = [header(model)];
  for (let first = 0; first < rows; first += WINDOWS_PER_CALL) {
    const B = Math.min(WINDOWS_PER_CALL, rows - first);
    const steps = Math.min(T, first + B);
    const input = new Float32Array(steps * B * I);
    const lengths = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const end = first + b;
      lengths[b] = Math.min(steps, end + 1);
      for (let t = 0; t < lengths[b]; t++) {
        const row = end - lengths[b] + 1 + t;
        input.set(x.subarray(row * I, (row + 1) * I), (t * B + b) * I);
      }
    }
    const { y } = net.unroll({ data: input, shape: [steps, B, I] }, { lengths });
    for (let b = 0; b < B; b++) lines.push(format(y.data[(lengths[b] - 1) * B + b] * model.std[target] + model.mean[target]));
  }
  return lines;
}

/** When the file also holds the target column, how far the predictions are from it, on standard error. */
function reportError(model: SeriesModel, table: NumericTable, csv: string, lines: string[]): void {
  const name = model.columns[model.outputs[0]];
  const at =
    model.header && table.header ? table.columns.indexOf(name) : table.columns.length === model.columns.length ? model.outputs[0] : -1;
  if (at < 0) return;
  const C = table.columns.length;
  let sum = 0;
  for (let r = 0; r < table.rows; r++) sum += (Number(lines[r + 1]) - table.values[r * C + at]) ** 2;
  process.stderr.write(`RMSE against ${csv}'s '${name}' column: ${format(Math.sqrt(sum / table.rows))} over ${table.rows} rows\n`);
}

/**
 * Command-line parsing on top of node:util's parseArgs, with the messages a person needs: an unknown option
 * names the closest known one, a bad value names the option, what it must be and what it got.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

interface OptionSpec {
  /** 'string' options take a value; 'boolean' ones are flags. */
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in --help, e.g. '<n>'. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  /** The synopsis after `rnn-wasm`, e.g. 'train <file> [options]'. */
  usage: string;
  summary: string;
  /** Required positional arguments, by the names --help shows. */
  positionals: readonly string[];
  options: Readonly<Record<string, OptionSpec>>;
}

export interface ParsedCommand {
  positionals: string[];
  options: Options;
}

/** Parses `argv` for one command; null when --help was asked for. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedCommand | null {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options)) options[name] = { type: o.type, ...(o.short && { short: o.short }) };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(explainParseError(spec, error as Error & { code?: string }));
  }
  if (parsed.values.help) return null;
  const { positionals } = parsed;
  if (positionals.length < spec.positionals.length) {
    const missing = spec.positionals.slice(positionals.length).join(' ');
    throw new UsageError(`missing ${missing} (usage: rnn-wasm ${spec.usage})`);
  }
  if (positionals.length > spec.positionals.length) {
    const extra = positionals
      .slice(spec.positionals.length)
      .map((p) => `'${p}'`)
      .join(', ');
    throw new UsageError(`unexpected ${extra} (usage: rnn-wasm ${spec.usage})`);
  }
  return { positionals, options: new Options(parsed.values as Record<string, string | boolean | undefined>) };
}

/**
 * `--temperature -1` as `--temperature=-1`: parseArgs reads a value that starts with a dash as the next option and
 * refuses it as ambiguous. A negative number after an option that takes a value is that option's value (which
 * its own check then judges), never an option: no option is spelt with a digit after the dash.
 */
function joinNegativeValues(argv: readonly string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>): string[] {
  const takesValue = (arg: string) => {
    const long = /^--([^=]+)$/.exec(arg)?.[1];
    if (long) return options[long]?.type === 'string';
    const short = /^-([^-])$/.exec(arg)?.[1];
    return short !== undefined && Object.values(options).some((o) => o.short === short && o.type === 'string');
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (i + 1 < argv.length && takesValue(argv[i]) && /^-(\d|\.\d|Infinity)/.test(argv[i + 1])) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

function explainParseError(spec: CommandSpec, error: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1] ?? '';
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const guess = closest(option.replace(/^-+/, ''), Object.keys(spec.options));
    return `no option ${option}${guess ? `; did you mean --${guess}?` : ''} (rnn-wasm ${spec.name} --help lists them)`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(error.message) ? `${option} needs a value` : `${option} is a flag and takes no value`;
  }
  return error.message;
}

/** The known name within edit distance 2 of a misspelt one, if any. */
function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}

interface NumberRule {
  /** Smallest allowed value (inclusive unless `above`). */
  min?: number;
  /** Values must be greater than `min`, not equal to it. */
  above?: boolean;
  /** Largest allowed value (exclusive when `below`). */
  max?: number;
  below?: boolean;
}

/** The parsed option values, read through typed accessors that reject what cannot be meant. */
export class Options {
  constructor(private readonly values: Readonly<Record<string, string | boolean | undefined>>) {}

  /** Whether the option was given at all. */
  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  /** The names of the options given, for checks such as "fixed by the checkpoint". */
  given(): string[] {
    return Object.keys(this.values).filter((k) => this.values[k] !== undefined && k !== 'help');
  }

  string(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  int(name: string, fallback: number, rule: NumberRule = {}): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value))
      throw new UsageError(`--${name} must be a whole number, got '${raw}'`);
    checkRange(name, value, rule, raw);
    return value;
  }

  number(name: string, fallback: number, rule: NumberRule = {}): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got '${raw}'`);
    checkRange(name, value, rule, raw);
    return value;
  }

  choice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
    return raw as T;
  }

  /** A comma-separated list of whole numbers ≥ 1, e.g. `--hidden 32,128`. */
  intList(name: string, fallback: readonly number[]): number[] {
    const raw = this.string(name);
    if (raw === undefined) return [...fallback];
    return raw.split(',').map((part) => {
      const value = Number(part);
      if (!/^\s*\d+\s*$/.test(part) || !Number.isSafeInteger(value) || value < 1) {
        throw new UsageError(`--${name} must be whole numbers ≥ 1 separated by commas, got '${raw}'`);
      }
      return value;
    });
  }
}

function checkRange(name: string, value: number, rule: NumberRule, raw: string): void {
  const { min, max } = rule;
  const tooLow = min !== undefined && (rule.above ? value <= min : value < min);
  const tooHigh = max !== undefined && (rule.below ? value >= max : value > max);
  if (!tooLow && !tooHigh) return;
  const parts = [];
  if (min !== undefined) parts.push(`${rule.above ? '>' : '≥'} ${min}`);
  if (max !== undefined) parts.push(`${rule.below ? '<' : '≤'} ${max}`);
  throw new UsageError(`--${name} must be ${parts.join(' and ')}, got '${raw}'`);
}

/** The --help text of a command: synopsis, summary and one line per option. */
export function commandHelp(spec: CommandSpec): string {
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const left = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    return [left, o.help] as const;
  });
  const width = Math.max(0, ...rows.map(([left]) => left.length)) + 2;
  const lines = [`usage: rnn-wasm ${spec.usage}`, '', spec.summary];
  if (rows.length) lines.push('', 'options:', ...rows.map(([left, help]) => `  ${left.padEnd(width)}${help}`));
  return `${lines.join('\n')}\n`;
}

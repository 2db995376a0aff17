/**
 * The checks every options object shares: each one names the option and what it got, and none lets a value
 * through that is not what the option means (a NaN, a string where a number goes, an unknown key).
 */
import { OptionError } from './errors.js';

export function checkKeys(value: unknown, allowed: readonly string[], where: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionError(`${where}: expected an options object, got ${value === null ? 'null' : typeof value}`);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new OptionError(`${where}: unknown option '${key}' (known: ${allowed.join(', ')})`);
    }
  }
}

/**
 * A value for an error message, whatever it is: `String()` throws on an object without a prototype or a
 * Symbol, and an error message must never be where a TypeError starts.
 */
export function show(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return Array.isArray(value) ? `an array of ${value.length}` : 'an object';
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
  if (typeof value === 'bigint') return `${value}n (a BigInt)`;
  const text = String(value);
  const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  // Quoted, or the string '2' would read as the number 2 in "must be an integer, got 2".
  return typeof value === 'string' ? `'${shown}'` : shown;
}

export function positiveInt(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new OptionError(`${name} must be a positive integer, got ${show(value)}`);
  }
  return value as number;
}

export function nonNegativeInt(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new OptionError(`${name} must be a non-negative integer, got ${show(value)}`);
  }
  return value as number;
}

/** A finite number in a range; `above` excludes `min` itself, `below` excludes `max`. */
export function numberIn(value: unknown, name: string, range: { min?: number; max?: number; above?: boolean; below?: boolean }): number {
  const { min = -Infinity, max = Infinity, above = false, below = false } = range;
  const ok =
    typeof value === 'number' && Number.isFinite(value) && (above ? value > min : value >= min) && (below ? value < max : value <= max);
  if (!ok) {
    const bounds = max === Infinity ? `${above ? '>' : '≥'} ${min}` : `in ${above ? '(' : '['}${min}, ${max}${below ? ')' : ']'}`;
    throw new OptionError(`${name} must be a finite number ${bounds}, got ${show(value)}`);
  }
  return value as number;
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (!allowed.includes(value as T)) {
    throw new OptionError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

export function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new OptionError(`${name} must be true or false, got ${show(value)}`);
  return value;
}

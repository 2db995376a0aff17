/**
 * Pieces of a file, put into error messages. Everything here is cut short: a hostile file can hold a name of
 * megabytes or a shape of millions of dimensions, and a message should still be one readable line.
 */

/** A string, quoted. */
export function quote(value: string, max = 60): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

/** Names, quoted: the first few of a long list. */
export function list(names: readonly string[], max = 8): string {
  const shown = names
    .slice(0, max)
    .map((n) => quote(n))
    .join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown || 'nothing';
}

/** A shape, as `[2, 3]`. */
export function shapeText(shape: readonly number[]): string {
  return shape.length > 8 ? `[${shape.slice(0, 8).join(', ')}, …] (${shape.length} dimensions)` : `[${shape.join(', ')}]`;
}

/** Any value read from a file: its type, and its value when short. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return quote(value);
  return `${typeof value} ${String(value)}`;
}

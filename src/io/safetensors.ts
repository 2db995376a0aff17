/**
 * The safetensors format, read and written as pure functions over bytes; nothing here knows about models.
 *
 * A file is an unsigned 64-bit little-endian N, N bytes of UTF-8 JSON header, then the data section. The
 * header maps each tensor's name to `{ dtype, shape, data_offsets: [begin, end] }` (byte offsets into the
 * data section) and may hold `__metadata__`, a map of strings to strings.
 *
 * Reading trusts nothing in the file. The header length is checked against the bytes that are there before
 * anything is decoded, every shape's byte size against its offsets (with no multiplication that can
 * overflow), and the tensors must tile the data section exactly, as the reference implementation demands:
 * no overlaps, no gaps, no trailing bytes. Nothing is allocated from a size the file claims; tensor data is
 * copied out only on request, from ranges already checked.
 */
import { FormatError } from '../errors.js';
import { quote, shapeText } from './describe.js';
import { type JsonObject, type JsonValue, parseJson } from './json.js';

/** Bytes per element of every dtype the format defines. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The float dtypes `readFloat32` converts; weights saved in half or double precision load too. */
const FLOAT_DTYPES = ['F32', 'F16', 'BF16', 'F64'];

/** The reference implementation's limit: a header larger than this is refused before it is decoded. */
/** More tensors than any model of this library has (see parseSafetensors). */
const MAX_TENSORS = 40_000;

const MAX_HEADER_BYTES = 100_000_000;

/** A header needs three levels (file, tensor, shape); a little room, then deep nesting is refused early. */
const HEADER_DEPTH = 4;

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Byte offsets of the tensor's data in the file (not the data section), begin ≤ end. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsFile {
  readonly bytes: Uint8Array;
  /** `__metadata__`, or an empty map. */
  readonly metadata: ReadonlyMap<string, string>;
  /** The tensors in the order of their data. */
  readonly tensors: readonly SafetensorsEntry[];
}

/** A float32 tensor to write. */
export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Checks a whole file's structure; throws FormatError naming the first problem found. */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) {
    throw new FormatError(`safetensors: the file is ${bytes.length} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    throw new FormatError(
      `safetensors: the header length is ${headerLength} bytes, but only ${bytes.length - 8} bytes `
        + 'follow it (truncated file, or not safetensors)',
    );
  }
  const n = Number(headerLength);
  if (n > MAX_HEADER_BYTES) throw new FormatError(`safetensors: the header is ${n} bytes, more than the limit of ${MAX_HEADER_BYTES}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new FormatError('safetensors: the header is not valid UTF-8');
  }
  // Each tensor takes three containers (its object, shape and offsets). No model has more than MAX_TENSORS
  // tensors (4096 layers of two directions and four tensors each, the optimizer's few, the other parts'), so a
  // header of millions of empty tensors ends here, after a fraction of its parse, not after tens of seconds.
  const header = parseJson(text, 'safetensors header', {
    maxDepth: HEADER_DEPTH,
    maxContainers: Math.min(Math.ceil(n / 8), 3 * MAX_TENSORS) + 8,
  });
  if (!isObject(header)) throw new FormatError(`safetensors: the header must be a JSON object, got ${typeName(header)}`);

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  let metadata = new Map<string, string>();
  const tensors: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') metadata = readMetadata(info);
    else tensors.push(readEntry(name, info, dataStart, dataLength));
  }
  // The tensors must tile the data section: sorted by offset, each begins where the previous ended.
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = dataStart;
  let previous: SafetensorsEntry | undefined;
  for (const t of tensors) {
    if (t.begin < covered) {
      throw new FormatError(
        `safetensors: tensors ${quote(previous!.name)} and ${quote(t.name)} overlap `
          + `(data bytes ${t.begin - dataStart}–${covered - dataStart})`,
      );
    }
    if (t.begin > covered) {
      throw new FormatError(
        `safetensors: data bytes ${covered - dataStart}–${t.begin - dataStart} belong to no tensor ` + `(a gap before ${quote(t.name)})`,
      );
    }
    covered = t.end;
    previous = t;
  }
  if (covered !== bytes.length) {
    throw new FormatError(
      `safetensors: the data section is ${dataLength} bytes but the tensors cover `
        + `${covered - dataStart} (trailing bytes, or a tensor is missing from the header)`,
    );
  }
  return { bytes, metadata, tensors };
}

function readMetadata(value: JsonValue): Map<string, string> {
  if (!isObject(value)) throw new FormatError(`safetensors: __metadata__ must be an object of strings, got ${typeName(value)}`);
  const metadata = new Map<string, string>();
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new FormatError(`safetensors: __metadata__ ${quote(key)} must be a string, got ${typeName(v)}`);
    metadata.set(key, v);
  }
  return metadata;
}

function readEntry(name: string, info: JsonValue, dataStart: number, dataLength: number): SafetensorsEntry {
  const where = `safetensors: tensor ${quote(name)}`;
  if (!isObject(info)) throw new FormatError(`${where} must be described by an object, got ${typeName(info)}`);
  for (const key of Object.keys(info)) {
    if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') {
      throw new FormatError(`${where} has an unknown field ${quote(key)} (expected dtype, shape, data_offsets)`);
    }
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw new FormatError(
      `${where}: unknown dtype ${typeof dtype === 'string' ? quote(dtype) : typeName(dtype)} `
        + `(safetensors dtypes: ${Object.keys(DTYPE_BYTES).join(', ')})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new FormatError(`${where}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || (offsets[0] as number) > (offsets[1] as number)) {
    throw new FormatError(`${where}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) {
    throw new FormatError(`${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes)`);
  }
  // The product is checked before each multiplication, so no shape, however large, rounds or overflows.
  let bytes = shape.includes(0) ? 0 : DTYPE_BYTES[dtype];
  for (const d of shape as number[]) {
    if (bytes > Number.MAX_SAFE_INTEGER / d) {
      throw new FormatError(
        `${where}: shape ${shapeText(shape as number[])} of ${dtype} needs more than 2⁵³ bytes; its `
          + `data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    }
    bytes *= d;
  }
  if (bytes !== end - begin) {
    throw new FormatError(
      `${where}: shape ${shapeText(shape as number[])} of ${dtype} needs ${bytes} bytes, but its `
        + `data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
}

/** A tensor's values as float32 (F32 exactly; F16 and BF16 exactly widened; F64 rounded to nearest). */
export function readFloat32(file: SafetensorsFile, entry: SafetensorsEntry): Float32Array {
  const { bytes } = file;
  const view = new DataView(bytes.buffer, bytes.byteOffset + entry.begin, entry.end - entry.begin);
  const n = view.byteLength / DTYPE_BYTES[entry.dtype];
  const out = new Float32Array(n);
  switch (entry.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    default:
      throw new FormatError(
        `safetensors: tensor ${quote(entry.name)} is ${entry.dtype}; weights must be a float dtype ` + `(${FLOAT_DTYPES.join(', ')})`,
      );
  }
  return out;
}

/** IEEE 754 binary16 to a number: sign, 5 exponent bits, 10 fraction bits. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/**
 * A safetensors file of float32 tensors, contiguous in the order given, with `metadata` as `__metadata__`.
 * The header is padded with spaces so that the data section starts 8-byte aligned.
 */
export function writeSafetensors(tensors: readonly NamedTensor[], metadata: ReadonlyMap<string, string>): Uint8Array {
  // Written member by member rather than by JSON.stringify of an object, which would move integer-like
  // names to the front and treat '__proto__' specially.
  const members = [`"__metadata__":${JSON.stringify(Object.fromEntries(metadata))}`];
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name) || t.name === '__metadata__')
      throw new FormatError(`safetensors: cannot write two tensors named ${quote(t.name)}`);
    names.add(t.name);
    const info = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    members.push(`${JSON.stringify(t.name)}:${JSON.stringify(info)}`);
    offset += t.data.length * 4;
  }
  const json = new TextEncoder().encode(`{${members.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  return out;
}

const isObject = (value: JsonValue): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);

const isCount = (value: JsonValue): boolean => Number.isSafeInteger(value) && (value as number) >= 0;

function typeName(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${quote(String(value))}`;
}

/** A JSON value from a header for a message, kept short whatever its size. */
function describe(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

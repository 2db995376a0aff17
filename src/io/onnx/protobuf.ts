/**
 * Protocol Buffers' wire format, read and written by hand: the five wire types ONNX uses, nothing generated.
 *
 * A message is a list of fields, each a varint key (field number << 3 | wire type) and a value: 0 a varint, 1
 * eight bytes, 2 a varint length and that many bytes (strings, bytes, sub-messages, packed numbers), 5 four
 * bytes. Reading trusts nothing: every length is checked against the bytes that are left before anything is
 * sliced, a varint longer than ten bytes or a number past 2⁵³ is refused, and groups (wire types 3 and 4, gone
 * since proto2) are a FormatError. Nothing is allocated from a length a file claims; sub-messages are views.
 */
import { FormatError } from '../../errors.js';

const TEXT = new TextDecoder('utf-8', { fatal: true });

export class ProtoReader {
  #pos: number;
  readonly #end: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly where: string,
  ) {
    this.#pos = 0;
    this.#end = bytes.length;
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  fail(what: string): never {
    throw new FormatError(`ONNX: ${this.where}: ${what} (at byte ${this.#pos} of ${this.#end})`);
  }

  /** The next field's number and wire type. */
  key(): { field: number; wire: number } {
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) this.fail('a field number of 0');
    return { field, wire };
  }

  /** An unsigned varint, or a negative int64 written in ten bytes as two's complement. Exact below 2⁵³. */
  varint(): number {
    let lo = 0;
    let hi = 0;
    for (let i = 0; ; i++) {
      if (this.#pos >= this.#end) this.fail('a varint runs past the end (truncated)');
      if (i >= 10) this.fail('a varint longer than 10 bytes');
      const b = this.bytes[this.#pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) break;
    }
    lo >>>= 0;
    hi >>>= 0;
    if (hi & 0x80000000) {
      // Negative: -(~value + 1) with both halves complemented.
      const value = (~hi >>> 0) * 2 ** 32 + (~lo >>> 0) + 1;
      if (value > Number.MAX_SAFE_INTEGER) this.fail('an integer below -2⁵³');
      return -value;
    }
    const value = hi * 2 ** 32 + lo;
    // INT64_MAX (Slice's "to the end") is kept as a large number; anything that is a size is checked by its user.
    return value;
  }

  /** A length-delimited value: a view of its bytes. */
  bytesField(): Uint8Array {
    const n = this.varint();
    if (n > this.#end - this.#pos) this.fail(`a length of ${n} bytes, but only ${this.#end - this.#pos} are left (truncated or lying)`);
    const view = this.bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return view;
  }

  string(): string {
    const bytes = this.bytesField();
    try {
      return TEXT.decode(bytes);
    } catch {
      return this.fail('a string that is not UTF-8');
    }
  }

  float(): number {
    if (this.#end - this.#pos < 4) this.fail('a float runs past the end (truncated)');
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.#pos, 4).getFloat32(0, true);
    this.#pos += 4;
    return v;
  }

  /** Skips a field of the given wire type. */
  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.bytesField();
        return;
      case 5:
        this.advance(4);
        return;
      default:
        this.fail(`wire type ${wire} (groups, or not protobuf)`);
    }
  }

  /** Numbers of a repeated scalar field, packed (wire type 2) or one at a time. */
  repeatedInts(wire: number, into: number[]): void {
    if (wire === 0) {
      into.push(this.varint());
      return;
    }
    if (wire !== 2) this.fail(`a repeated integer of wire type ${wire}`);
    const inner = new ProtoReader(this.bytesField(), this.where);
    while (!inner.done) into.push(inner.varint());
  }

  repeatedFloats(wire: number, into: number[]): void {
    if (wire === 5) {
      into.push(this.float());
      return;
    }
    if (wire !== 2) this.fail(`a repeated float of wire type ${wire}`);
    const inner = new ProtoReader(this.bytesField(), this.where);
    while (!inner.done) into.push(inner.float());
  }

  private advance(n: number): void {
    if (this.#end - this.#pos < n) this.fail(`a ${n}-byte value runs past the end (truncated)`);
    this.#pos += n;
  }
}

/** Builds a message field by field; `message` nests one. */
export class ProtoWriter {
  readonly #chunks: Uint8Array[] = [];
  #length = 0;
  static readonly #text = new TextEncoder();

  private push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }

  private rawVarint(value: number): void {
    const out: number[] = [];
    if (value < 0) {
      // Two's complement in ten bytes, as protobuf writes a negative int64.
      let lo = Number(BigInt.asUintN(64, BigInt(value)) & 0xffffffffn);
      let hi = Number(BigInt.asUintN(64, BigInt(value)) >> 32n);
      for (let i = 0; i < 9; i++) {
        out.push((lo & 0x7f) | 0x80);
        lo = (lo >>> 7) | ((hi & 0x7f) << 25);
        hi >>>= 7;
      }
      out.push(lo & 0x01);
    } else {
      let v = value;
      while (v >= 0x80) {
        out.push((v % 128) | 0x80);
        v = Math.floor(v / 128);
      }
      out.push(v);
    }
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  int(field: number, value: number): this {
    this.key(field, 0);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.rawVarint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, ProtoWriter.#text.encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  packedInts(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

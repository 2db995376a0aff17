/**
 * A strict JSON parser for text that came from a file: a safetensors header, a JSON checkpoint.
 *
 * `JSON.parse` keeps the last of two equal keys without a word (a header naming one tensor twice would lose
 * one silently) and puts no bound on nesting or on how many objects a text creates. This parser refuses
 * duplicate keys, nesting deeper than `maxDepth` and more than `maxContainers` objects and arrays, so what a
 * hostile text can make us allocate stays a small multiple of its own size. A key such as `__proto__` becomes
 * an ordinary own property, never a prototype. Every failure is a FormatError naming the problem and where.
 */
import { FormatError } from '../errors.js';
import { quote } from './describe.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface JsonLimits {
  /** Deepest nesting of objects and arrays accepted; the formats read here need a handful of levels. */
  maxDepth: number;
  /** Most objects and arrays in one text. */
  maxContainers: number;
}

/** Parses `text` completely (trailing whitespace only); `what` names the text in errors, e.g. 'safetensors header'. */
export function parseJson(text: string, what: string, limits: JsonLimits): JsonValue {
  return new Parser(text, what, limits).document();
}

const isDigit = (code: number) => code >= 0x30 && code <= 0x39;
const LITERALS = [
  ['true', true],
  ['false', false],
  ['null', null],
] as const;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Parser {
  private at = 0;
  private depth = 0;
  private containers = 0;

  constructor(
    private readonly text: string,
    private readonly what: string,
    private readonly limits: JsonLimits,
  ) {}

  document(): JsonValue {
    const value = this.value();
    this.space();
    if (this.at < this.text.length) this.fail(`unexpected ${this.describeHere()} after the end of the JSON value`);
    return value;
  }

  private value(): JsonValue {
    this.space();
    const code = this.text.charCodeAt(this.at);
    if (code === 0x7b /* { */) return this.object();
    if (code === 0x5b /* [ */) return this.array();
    if (code === 0x22 /* " */) return this.string();
    if (code === 0x2d /* - */ || isDigit(code)) return this.number();
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    return this.fail(`expected a JSON value, found ${this.describeHere()}`);
  }

  private open(): void {
    if (++this.depth > this.limits.maxDepth) this.fail(`nested deeper than ${this.limits.maxDepth} levels`);
    if (++this.containers > this.limits.maxContainers) {
      this.fail(`more than ${this.limits.maxContainers} objects and arrays`);
    }
    this.at++;
    this.space();
  }

  private object(): JsonObject {
    this.open();
    const result: JsonObject = {};
    if (this.text[this.at] === '}') {
      this.at++;
      this.depth--;
      return result;
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail(`expected a key in double quotes, found ${this.describeHere()}`);
      const keyAt = this.at;
      const key = this.string();
      if (Object.hasOwn(result, key)) this.fail(`duplicate key ${quote(key)}`, keyAt);
      this.space();
      if (this.text[this.at] !== ':') this.fail(`expected ':' after key ${quote(key)}, found ${this.describeHere()}`);
      this.at++;
      const value = this.value();
      // An own property even for '__proto__', which plain assignment would take as the prototype.
      if (key === '__proto__') Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      else result[key] = value;
      if (this.endOf('}')) return result;
    }
  }

  private array(): JsonValue[] {
    this.open();
    const result: JsonValue[] = [];
    if (this.text[this.at] === ']') {
      this.at++;
      this.depth--;
      return result;
    }
    for (;;) {
      result.push(this.value());
      if (this.endOf(']')) return result;
    }
  }

  /** After a member: true at the closing bracket (consumed), false at a comma (consumed). */
  private endOf(close: '}' | ']'): boolean {
    this.space();
    const c = this.text[this.at++];
    if (c === close) {
      this.depth--;
      return true;
    }
    if (c !== ',') this.fail(`expected ',' or '${close}', found ${this.describeHere(this.at - 1)}`, this.at - 1);
    return false;
  }

  private string(): string {
    const start = ++this.at;
    const text = this.text;
    // Fast path: most strings have no escapes.
    let i = start;
    while (i < text.length) {
      const code = text.charCodeAt(i);
      if (code === 0x22 /* " */) {
        this.at = i + 1;
        return text.slice(start, i);
      }
      if (code === 0x5c /* \ */ || code < 0x20) break;
      i++;
    }
    // Slow path: runs of plain characters are sliced whole, escapes decoded by char code (a hostile header can
    // hold tens of millions of escapes; a regex or a concatenation per character made that ten seconds).
    const parts: string[] = [text.slice(start, i)];
    for (;;) {
      let run = i;
      while (run < text.length) {
        const code = text.charCodeAt(run);
        if (code === 0x22 || code === 0x5c || code < 0x20) break;
        run++;
      }
      if (run > i) parts.push(text.slice(i, run));
      i = run;
      if (i >= text.length) this.fail('unterminated string', start - 1);
      const code = text.charCodeAt(i);
      if (code === 0x22 /* " */) {
        this.at = i + 1;
        return parts.join('');
      }
      if (code < 0x20) this.fail(`control character U+${code.toString(16).padStart(4, '0')} inside a string`, i);
      const e = text[i + 1];
      if (e === 'u') {
        const unit = hex4(text, i + 2);
        if (unit < 0) this.fail(`bad \\u escape ${quote(text.slice(i, i + 6))}`, i);
        parts.push(String.fromCharCode(unit));
        i += 6;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        parts.push(ESCAPES[e]);
        i += 2;
      } else {
        this.fail(`bad escape ${quote(text.slice(i, i + 2))} in a string`, i);
      }
    }
  }

  /** JSON's number grammar: -?(0|[1-9]digits)(.digits)?([eE][+-]?digits)?, scanned by hand (a hot path). */
  private number(): number {
    const text = this.text;
    const start = this.at;
    let i = start;
    if (text.charCodeAt(i) === 0x2d /* - */) i++;
    if (text.charCodeAt(i) === 0x30 /* 0 */) i++;
    else if (isDigit(text.charCodeAt(i))) while (isDigit(text.charCodeAt(i))) i++;
    else this.fail(`malformed number starting ${quote(text.slice(start, start + 12))}`, start);
    if (text.charCodeAt(i) === 0x2e /* . */) {
      if (!isDigit(text.charCodeAt(++i))) this.fail(`malformed number starting ${quote(text.slice(start, start + 12))}`, start);
      while (isDigit(text.charCodeAt(i))) i++;
    }
    if ((text.charCodeAt(i) | 0x20) === 0x65 /* e or E */) {
      const sign = text.charCodeAt(++i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (!isDigit(text.charCodeAt(i))) this.fail(`malformed number starting ${quote(text.slice(start, start + 12))}`, start);
      while (isDigit(text.charCodeAt(i))) i++;
    }
    this.at = i;
    return Number(text.slice(start, i));
  }

  private space(): void {
    const text = this.text;
    let i = this.at;
    for (;;) {
      const code = text.charCodeAt(i);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) break;
      i++;
    }
    this.at = i;
  }

  private describeHere(at = this.at): string {
    return at >= this.text.length ? 'the end of the text' : quote(this.text.slice(at, at + 12));
  }

  private fail(problem: string, at = this.at): never {
    throw new FormatError(`${this.what}: ${problem} (at character ${at})`);
  }
}

/** The four hex digits at text[i…i+4) as a number, or -1. */
function hex4(text: string, i: number): number {
  let value = 0;
  for (let k = i; k < i + 4; k++) {
    const c = text.charCodeAt(k);
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

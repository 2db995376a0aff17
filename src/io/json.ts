/**
 * A strict JSON parser for text that came from a file: a safetensors header, a JSON checkpoint.
 *
 * `JSON.parse` keeps the last of two equal keys without a word (a header naming one tensor twice would lose
 * one silently) and puts no bound on nesting or on how many objects a text creates. This parser refuses
 * duplicate keys, nesting deeper than `maxDepth` and more than `maxContainers` objects and arrays, so what a
 * hostile text can make us allocate stays a small multiple of its own size. Objects come back without a
 * prototype, so a key such as `__proto__` is an ordinary key. Every failure is a FormatError naming the
 * problem and its character offset.
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

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Parser {
  private at = 0;
  private depth = 0;
  private containers = 0;

  constructor(private readonly text: string, private readonly what: string, private readonly limits: JsonLimits) {}

  document(): JsonValue {
    const value = this.value();
    this.space();
    if (this.at < this.text.length) this.fail(`unexpected ${this.describeHere()} after the end of the JSON value`);
    return value;
  }

  private value(): JsonValue {
    this.space();
    const c = this.text[this.at];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
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
    const result: JsonObject = Object.create(null);
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
      result[key] = this.value();
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
    let out = text.slice(start, i);
    for (;;) {
      if (i >= text.length) this.fail('unterminated string', start - 1);
      const c = text[i];
      const code = text.charCodeAt(i);
      if (c === '"') {
        this.at = i + 1;
        return out;
      }
      if (code < 0x20) this.fail(`control character U+${code.toString(16).padStart(4, '0')} inside a string`, i);
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(`bad \\u escape ${quote(text.slice(i, i + 6))}`, i);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        i += 2;
      } else {
        this.fail(`bad escape ${quote(text.slice(i, i + 2))} in a string`, i);
      }
    }
  }

  private number(): number {
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (!match) return this.fail(`malformed number starting ${quote(this.text.slice(this.at, this.at + 12))}`);
    this.at += match[0].length;
    return Number(match[0]);
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

/**
 * Files in and out. Reading turns every way a file can be unusable (missing, a folder, empty, binary, not
 * UTF-8) into a message that names the file and what to give instead. Writing goes to a temporary file in
 * the same folder and is renamed over the target, so a crash, a full disk or Ctrl-C can never leave a
 * half-written checkpoint where a good one was expected.
 */
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CliError, UsageError } from './errors.js';

/** Larger than any training text or checkpoint this command works with: Node reads at most 2 GiB at once. */
const MAX_FILE_BYTES = 2 ** 31 - 1;

/** The bytes of a file that must exist and be non-empty; `wanted` says what it should be, for messages. */
export function readBytes(path: string, wanted: string): Uint8Array {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new CliError(`${path} is a folder; give ${wanted}`);
    if (!stat.isFile()) throw new CliError(`${path} is not a regular file (a device or a pipe); give ${wanted}`);
    size = stat.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${path} does not exist; give ${wanted}` : `cannot read ${path} (${code}); give ${wanted}`);
  }
  if (size === 0) throw new CliError(`${path} is empty; give ${wanted}`);
  if (size > MAX_FILE_BYTES) {
    throw new CliError(
      `${path} is ${(size / 2 ** 30).toFixed(1)} GiB, more than the 2 GiB this command reads; give ${wanted} (a smaller one)`,
    );
  }
  return readFileSync(path);
}

/**
 * A text file's contents as a string with '\n' line ends. Binary files are refused by their NUL bytes or
 * invalid UTF-8, which no text a model should learn contains.
 */
export function readText(path: string, wanted: string): string {
  const bytes = readBytes(path, wanted);
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new CliError(`${path} looks binary (a zero byte at offset ${nul}); give ${wanted}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new CliError(`${path} is not UTF-8 text (binary, or another encoding); give ${wanted}, saved as UTF-8`);
  }
  text = text.replace(/\r\n?/g, '\n');
  if (text.trim() === '') throw new CliError(`${path} holds only whitespace; give ${wanted}`);
  return text;
}

/** Writes `bytes` to `path` all at once: a temporary file beside it, flushed, then renamed over `path`. */
export function writeAtomic(path: string, bytes: Uint8Array | string): void {
  removeStaleTemporaries(path);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  try {
    const fd = openSync(temporary, 'w');
    try {
      for (let written = 0; written < data.length; ) written += writeSync(fd, data, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot write ${path} (${code ?? (error as Error).message}); check that its folder exists and is writable`);
  }
}

/** Fails at once, not at the first save after minutes of work, when the folder of an output is missing. */
export function checkFolderExists(path: string): void {
  const folder = dirname(path);
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // Reported below: the folder is missing or unreadable.
  }
  if (!isFolder) throw new UsageError(`cannot write ${path}: the folder ${folder} does not exist`);
}

/**
 * Temporary files a killed run left beside `path` (SIGKILL runs no cleanup): `.<name>.<pid>.tmp` of a process that
 * is no longer alive. Those of live processes are theirs to finish.
 */
function removeStaleTemporaries(path: string): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return; // the write below reports a missing folder
  }
  for (const name of names) {
    const pid = name.startsWith(prefix) && name.endsWith('.tmp') ? Number(name.slice(prefix.length, -4)) : Number.NaN;
    if (!Number.isSafeInteger(pid) || pid === process.pid || alive(pid)) continue;
    rmSync(join(dirname(path), name), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

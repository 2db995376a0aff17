/**
 * A full garbage collection on demand, for tests that measure memory. The test workers do not run with
 * --expose-gc, so the flag is set at run time and `gc` taken from a fresh context, where V8 then defines it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Collects twice (objects freed by the first collection's finalizers go in the second) and reports memory. */
export function collectGarbage(): NodeJS.MemoryUsage {
  collect();
  collect();
  return process.memoryUsage();
}

/** `rnn-wasm generate <checkpoint>`: text sampled from a character model, one character at a time. */
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { readCheckpoint } from './checkpoint.js';
import { CliError, EXIT, UsageError } from './errors.js';
import type { TextModel } from './task.js';
import { encode } from './text-task.js';
import type { RNN } from '../index.js';

export const spec: CommandSpec = {
  name: 'generate',
  usage: 'generate <checkpoint> [options]',
  summary: 'Writes text sampled from a character model trained by rnn-wasm train, after the prompt.',
  positionals: ['<checkpoint>'],
  options: {
    prompt: { type: 'string', short: 'p', value: '<text>', help: 'text to start from (default: the training text\'s first character)' },
    length: { type: 'string', short: 'n', value: '<n>', help: 'characters to generate after the prompt (default 200)' },
    temperature: { type: 'string', short: 't', value: '<x>', help: 'below 1 is safer, above 1 wilder; 0 always takes the likeliest (default 0.8)' },
    seed: { type: 'string', value: '<n>', help: 'seed of the sampling (default 0)' },
  },
};

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) {
    process.stdout.write(commandHelp(spec));
    return EXIT.ok;
  }
  const o = parsed.options;
  const length = o.int('length', 200, { min: 1, max: 1_000_000 });
  const temperature = o.number('temperature', 0.8, { min: 0 });
  const seed = o.int('seed', 0, { min: 0, max: 2 ** 32 - 1 });
  const path = parsed.positionals[0];
  const { net, meta } = await readCheckpoint(path);
  try {
    if (meta.model.kind !== 'text') {
      throw new CliError(`${path} is a CSV model, which predicts numbers, not text; use rnn-wasm predict ${path} <csv>`);
    }
    const prompt = o.string('prompt') ?? meta.model.start;
    if (prompt === '') throw new UsageError(`--prompt is empty; give at least one character, or leave it out to start from ${JSON.stringify(meta.model.start)}`);
    process.stdout.write(`${prompt}${sample(net, meta.model, prompt, { steps: length, temperature, seed })}\n`);
    return EXIT.ok;
  } finally {
    net.dispose();
  }
}

/** `steps` characters drawn after `prompt`, each fed back as the next input. */
export function sample(net: RNN, model: TextModel, prompt: string,
  options: { steps: number; temperature: number; seed: number }): string {
  const V = model.vocab.length;
  const ids = encode(prompt, model, '--prompt');
  const x = new Float32Array(ids.length * V);
  ids.forEach((id, t) => (x[t * V + id] = 1));
  const result = net.generate({ data: x, shape: [ids.length, 1, V] }, { ...options, sample: true });
  return Array.from(result.ids!.data, (id) => model.vocab[id]).join('');
}

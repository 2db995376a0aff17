/**
 * Files as PyTorch's own tools write them. safetensors' `save_model` writes a tied weight once, under the first of
 * its names in sorted order, and records each other name in `__metadata__`: a word_language_model's tied
 * `encoder.weight` is then stored as `decoder.weight`, with `{"encoder.weight": "decoder.weight"}`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RNN, StateDictError } from '../src/index.js';
import { parseSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { MODELS, fixtureFolders } from './fixture-folders.js';
import { BACKENDS, expectClose } from './helpers.js';

const folder = fixtureFolders('MODEL_FIXTURES', MODELS)[0];
interface Case {
  modules: { embedding: { name: string }; head: { name: string; tied_to: string | null } };
  input_ids: { shape: number[]; data: number[] };
  expected: { logits: { data: number[] } };
}
const id = 'lm_lstm_tied';
const doc = JSON.parse(readFileSync(resolve(folder, `${id}.json`), 'utf8')) as Case;
const original = parseSafetensors(new Uint8Array(readFileSync(resolve(folder, `${id}.safetensors`))));

/** The same model as save_model writes it: the tied weight under the head's name, the embedding's in the metadata. */
function asSaveModelWrites(): Uint8Array {
  const embedding = `${doc.modules.embedding.name}.weight`;
  const head = `${doc.modules.head.name}.weight`;
  const tensors = original.tensors.map((t) => ({
    name: t.name === embedding ? head : t.name,
    shape: t.shape,
    data: new Float32Array(original.bytes.slice(t.begin, t.end).buffer),
  }));
  tensors.sort((a, b) => (a.name < b.name ? -1 : 1));
  return writeSafetensors(
    tensors,
    new Map([
      ['format', 'pt'],
      [embedding, head],
    ]),
  );
}

describe(`${id} as safetensors' save_model writes it`, () => {
  expect(doc.modules.head.tied_to, 'the case is a tied model').not.toBeNull();
  for (const backend of BACKENDS) {
    it(`[${backend}] loads as the tied model, with no options, and gives PyTorch's logits`, async () => {
      const net = await RNN.fromSafetensors(asSaveModelWrites(), { backend });
      expect(net.config.tieWeights).toBe(true);
      expect(net.config.embedding).not.toBeNull();
      const ids = { data: Int32Array.from(doc.input_ids.data), shape: doc.input_ids.shape };
      expectClose(net.unroll(ids).y.data, doc.expected.logits.data, `${id} logits`);
      // Written back the way this library writes a tied weight: once, under the embedding's name.
      const back = parseSafetensors(net.toSafetensors());
      expect(back.tensors.map((t) => t.name).sort()).toEqual(original.tensors.map((t) => t.name).sort());
    });
  }

  it('refuses tieWeights where the file has nothing to tie, with a typed error', async () => {
    const untied = writeSafetensors(
      original.tensors
        .filter((t) => t.name.startsWith('rnn.'))
        .map((t) => ({
          name: t.name,
          shape: t.shape,
          data: new Float32Array(original.bytes.slice(t.begin, t.end).buffer),
        })),
      new Map(),
    );
    await expect(RNN.fromSafetensors(untied, { tieWeights: true })).rejects.toThrow(StateDictError);
    await expect(RNN.fromSafetensors(untied, { tieWeights: true })).rejects.toThrow(/tieWeights: a tied head needs an embedding/);
  });
});

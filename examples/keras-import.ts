/**
 * A Keras text classifier saved by TensorFlow.js (Embedding → Bidirectional GRU → Dense softmax) runs here with
 * tfjs's own outputs, trains on, and leaves as an ONNX file that reads back as the same model.
 *
 *   npx tsx examples/keras-import.ts [model.json]
 *
 * Without a path it loads test/fixtures/tfjs/tfjs_own_embed_bigru_last/model.json (its weights are read beside
 * it, as tf.loadLayersModel does), and compares with what tfjs's model.predict gave for the case's input.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fromONNX, toONNX } from '../src/onnx.js';
import { fromTFJS } from '../src/tfjs.js';

const path = process.argv[2] ?? 'test/fixtures/tfjs/tfjs_own_embed_bigru_last/model.json';
const net = await fromTFJS(path);
const c = net.config;
console.log(
  `${c.cell} ${c.bidirectional ? 'bidirectional ' : ''}core of ${c.hiddenSize}, head ${c.outputSize} (${c.headActivation}) on the ${c.headOn} states`,
);

// The case tfjs ran: token ids [B, T] in, class probabilities [B, classes] out.
const { input, expected } = JSON.parse(readFileSync(join(dirname(path), 'case.json'), 'utf8'));
const ids = { data: Int32Array.from(input.data as number[]), shape: input.shape as number[] };
const y = net.unroll(ids).y;
const largest = Math.max(...y.data.map((v, i) => Math.abs(v - expected.data[i])));
console.log(`largest difference from tfjs's predict: ${largest.toExponential(1)}`);

// Fine-tuning towards each sequence's most likely class: cross-entropy reads the softmax head's logits.
const classes = Array.from({ length: ids.shape[0] }, (_, b) => {
  const row = y.data.subarray(b * c.outputSize, (b + 1) * c.outputSize);
  return row.indexOf(Math.max(...row));
});
const first = net.evaluate(ids, classes, { loss: 'cross_entropy' });
for (let k = 0; k < 20; k++) net.step(ids, classes, { loss: 'cross_entropy', optimizer: { kind: 'adam', lr: 0.01 } });
console.log(`loss ${first.toFixed(4)} → ${net.evaluate(ids, classes, { loss: 'cross_entropy' }).toFixed(4)}`);

// Out as ONNX, and back: the same model, the same outputs.
const bytes = toONNX(net);
const back = await fromONNX(bytes);
const same = back.unroll(ids).y.data.every((v, i) => v === net.unroll(ids).y.data[i]);
console.log(`ONNX: ${bytes.length} bytes, read back ${same ? 'the same' : 'a different'} model`);
net.dispose();
back.dispose();

// The README's first program: the textbook example, one ReLU unit that predicts tomorrow from yesterday and today.
import { RNN } from '../src/index.js';

const net = await RNN.create({ inputSize: 1, hiddenSize: 1, nonlinearity: 'relu', outputSize: 1 });
net.loadStateDict({
  weight_ih_l0: [[1.8]],
  weight_hh_l0: [[-0.5]],
  bias_ih_l0: [0],
  bias_hh_l0: [0],
  'head.weight': [[1.1]],
  'head.bias': [0],
});
const { y } = net.unroll([[[1]], [[1]]]); // [T = 2, B = 1, I = 1]: yesterday 1, today 1
console.log(y.data[1].toFixed(2)); // 0.99

"""PyTorch on RNN_BENCH_THREADS CPU threads (default 1), for `npm run bench` when python3 can import torch:
the workload's own weights and data, as bench/native/rnn.c takes them.

    pytorch.py <forward|train> <rnn|lstm|gru> I H T B <sgd|adam> lr <data.f32> <output.f32>

reads w_ih, w_hh, b_ih, b_hh (PyTorch's layouts), then for training head.weight [1, H] and head.bias [1], then
x [T, B, I] and for training the target [T, B, 1]. forward: writes the output [T, B, H] of one call (no grad)
and prints "ready"; train: prints "ready <loss>" for the first step (forward, MSE at every step, backward,
optimizer step). Then each line "n" on stdin is answered with the times of n more calls in nanoseconds.
"""
import sys
import time

import numpy as np
import torch

import os

threads = int(os.environ.get('RNN_BENCH_THREADS', '1'))
torch.set_num_threads(threads)
torch.set_num_interop_threads(1)

job, cell = sys.argv[1], sys.argv[2]
I, H, T, B = (int(v) for v in sys.argv[3:7])
optimizer_kind, lr = sys.argv[7], float(sys.argv[8])
data = np.fromfile(sys.argv[9], dtype=np.float32)
gates = {'rnn': 1, 'lstm': 4, 'gru': 3}[cell]
G = gates * H

at = 0


def take(*shape):
    global at
    n = int(np.prod(shape))
    tensor = torch.from_numpy(data[at:at + n].copy()).reshape(shape)
    at += n
    return tensor


module = {'rnn': torch.nn.RNN, 'lstm': torch.nn.LSTM, 'gru': torch.nn.GRU}[cell](I, H)
with torch.no_grad():
    module.weight_ih_l0.copy_(take(G, I))
    module.weight_hh_l0.copy_(take(G, H))
    module.bias_ih_l0.copy_(take(G))
    module.bias_hh_l0.copy_(take(G))
    if job == 'train':
        head = torch.nn.Linear(H, 1)
        head.weight.copy_(take(1, H))
        head.bias.copy_(take(1))
x = take(T, B, I)

if job == 'forward':
    def run():
        with torch.no_grad():
            return module(x)[0]
    run().numpy().tofile(sys.argv[10])
    print('ready', flush=True)
else:
    target = take(T, B, 1)
    parameters = list(module.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(parameters, lr=lr) if optimizer_kind == 'adam' else torch.optim.SGD(parameters, lr=lr)

    def run():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(head(module(x)[0]), target)
        loss.backward()
        optimizer.step()
        return loss
    print('ready', run().item(), flush=True)

for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        start = time.perf_counter_ns()
        run()
        times.append(time.perf_counter_ns() - start)
    print(' '.join(map(str, times)), flush=True)

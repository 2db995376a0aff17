// The embedding, a table of V rows of E floats looked up by token id:
//   out[n, :] = weight[ids[n], :]                                  (a gather)
//   dweight[ids[n], :] += dout[n, :]  for every n with ids[n] ≠ padding_idx   (a scatter-add)
// An id that occurs k times collects k rows of dout, added in the order of n. As in PyTorch, the row at
// padding_idx gets no gradient (it stays whatever it was, usually zero). The ids are int32 and the caller
// has checked that each is in [0, V): the kernels index with them as they are.

// @ts-ignore: decorator
@inline const F32 = 4;

export function embedding_forward(
  out: usize, // [N, E] written
  weight: usize, // [V, E]
  ids: usize, // [N] int32, each in [0, V) (the caller checked)
  N: i32, E: i32,
): void {
  // A row is contiguous in both tensors, so the gather is one bulk copy per row (memory.copy, which the
  // engine lowers to its own memmove): there is no arithmetic for a vector path to speed up.
  const row = <usize>E * F32;
  for (let n = 0; n < N; n++) {
    const id = load<i32>(ids + <usize>n * 4);
    memory.copy(out + <usize>n * row, weight + <usize>id * row, row);
  }
}

export function embedding_backward(
  dweight: usize, // [V, E] +=
  dout: usize, // [N, E]
  ids: usize, // [N] int32, each in [0, V)
  N: i32, E: i32,
  padding_idx: i32, // the row that gets no gradient, or -1 for none (no id is -1)
): void {
  const row = <usize>E * F32;
  for (let n = 0; n < N; n++) {
    const id = load<i32>(ids + <usize>n * 4);
    if (id == padding_idx) continue;
    const d = dweight + <usize>id * row, s = dout + <usize>n * row;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= E; j += 4) {
        const off = <usize>j * F32;
        v128.store(d + off, f32x4.add(v128.load(d + off), v128.load(s + off)));
      }
    }
    for (; j < E; j++) {
      const off = <usize>j * F32;
      store<f32>(d + off, load<f32>(d + off) + load<f32>(s + off));
    }
  }
}

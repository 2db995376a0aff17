// The native reference of `npm run bench`: the forward kernels of assembly/ written as plain C, for
// gcc to compile twice (-O3 -msse4.2, the vector width WebAssembly SIMD has, and -O3 -march=native). Same
// algorithm: the input projection of every step as one product before the recurrence, then one product with
// W_hh per step, then the gates; tanh by the same rational function as assembly/activations.ts. No
// intrinsics: weights are packed once into panels of P rows with the rows interleaved per k, so that the inner
// loop is P independent multiply-adds that gcc vectorises at whatever width the target has.
//
//   rnn <rnn|lstm|gru> I H T B <weights-and-input.f32> <output.f32>
// reads w_ih [G·H, I], w_hh [G·H, H], b_ih [G·H], b_hh [G·H], x [T, B, I] (float32, PyTorch's layouts), runs
// the forward pass once and writes its output [T, B, H], then answers each line "n" on stdin with the times of
// n more runs in nanoseconds, so that the benchmark can interleave this process with its other contenders.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// The vector width of the target: 4 floats for SSE (WebAssembly SIMD's f32x4), 8 for AVX, 16 for AVX-512.
#if defined(__AVX512F__)
#define VW 16
#elif defined(__AVX__)
#define VW 8
#else
#define VW 4
#endif
typedef float vf __attribute__((vector_size(VW * sizeof(float)), aligned(4))); // a vector that may be unaligned
#define P (4 * VW) // rows per panel: four vectors of accumulators per batch row

// tanh(x) ≈ x·p(x²)/q(x²) on [-7.9053, 7.9053] (±1 beyond), relative error ~1e-7: the kernels' rational tanh.
static inline float tanh_rational(float x) {
  x = x < -7.90531110763549805f ? -7.90531110763549805f : x;
  x = x > 7.90531110763549805f ? 7.90531110763549805f : x;
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return x * p / q;
}

static inline float sigmoid(float x) { return 0.5f + 0.5f * tanh_rational(0.5f * x); }

// c[0, n) += the panel's four accumulators (n < P only in the last panel of a size that is not a multiple of P).
static inline void store_panel(float *c, vf s0, vf s1, vf s2, vf s3, int n) {
  float s[P];
  memcpy(s, &s0, sizeof s0), memcpy(s + VW, &s1, sizeof s1), memcpy(s + 2 * VW, &s2, sizeof s2), memcpy(s + 3 * VW, &s3, sizeof s3);
  for (int i = 0; i < n; i++) c[i] += s[i];
}

// Panels [R/P][K][P]: row r = p·P + i of w [R, K] at panels[(p·K + k)·P + i]; R is padded up to whole panels.
static float *pack(const float *w, int R, int K) {
  const int panels = (R + P - 1) / P;
  float *out = aligned_alloc(64, (size_t)panels * K * P * sizeof(float) + 64);
  memset(out, 0, (size_t)panels * K * P * sizeof(float));
  for (int r = 0; r < R; r++)
    for (int k = 0; k < K; k++) out[((size_t)(r / P) * K + k) * P + r % P] = w[(size_t)r * K + k];
  return out;
}

// C[M, R] += A[M, K] · W[R, K]ᵀ with W packed: per k, one broadcast of A[m, k] times a panel's P weights
// (four vectors) in eight accumulators: two rows of A at a time, or one row over two k's.
static void gemm_packed(float *c, int ldc, const float *a, int lda, const float *panels, int M, int R, int K) {
  for (int p = 0; p < R; p += P) {
    const vf *w = (const vf *)(panels + (size_t)p * K);
    const int n = R - p < P ? R - p : P;
    int m = 0;
    for (; m + 2 <= M; m += 2) {
      const float *a0 = a + (size_t)m * lda, *a1 = a0 + lda;
      vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
      for (int k = 0; k < K; k++) {
        const vf *wk = w + 4 * k;
        const float x0 = a0[k], x1 = a1[k];
        s0 += wk[0] * x0, s1 += wk[1] * x0, s2 += wk[2] * x0, s3 += wk[3] * x0;
        t0 += wk[0] * x1, t1 += wk[1] * x1, t2 += wk[2] * x1, t3 += wk[3] * x1;
      }
      store_panel(c + (size_t)m * ldc + p, s0, s1, s2, s3, n);
      store_panel(c + (size_t)(m + 1) * ldc + p, t0, t1, t2, t3, n);
    }
    for (; m < M; m++) {
      const float *a0 = a + (size_t)m * lda;
      vf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
      int k = 0;
      for (; k + 2 <= K; k += 2) {
        const vf *wk = w + 4 * k;
        const float x0 = a0[k], x1 = a0[k + 1];
        s0 += wk[0] * x0, s1 += wk[1] * x0, s2 += wk[2] * x0, s3 += wk[3] * x0;
        t0 += wk[4] * x1, t1 += wk[5] * x1, t2 += wk[6] * x1, t3 += wk[7] * x1;
      }
      for (; k < K; k++) {
        const vf *wk = w + 4 * k;
        const float x0 = a0[k];
        s0 += wk[0] * x0, s1 += wk[1] * x0, s2 += wk[2] * x0, s3 += wk[3] * x0;
      }
      store_panel(c + (size_t)m * ldc + p, s0 + t0, s1 + t1, s2 + t2, s3 + t3, n);
    }
  }
}

typedef struct {
  int gates, I, H, T, B;
  float *wih, *whh, *bih, *bhh, *x; // packed weights, biases, input
  float *out, *pre, *gh, *c;        // output [T, B, H], pre-activations [T, B, G·H], GRU hidden side [B, G·H], LSTM cell [B, H]
  float *h0;                         // [B, H] zeros: the first step's product runs too, as in the kernels
} Model;

// out[t] = tanh(x[t] W_ihᵀ + b_ih + h[t-1] W_hhᵀ + b_hh), h[-1] = 0.
static void rnn_forward(Model *m) {
  const int H = m->H, B = m->B, rows = m->T * B;
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < H; j++) m->out[(size_t)r * H + j] = m->bih[j] + m->bhh[j];
  gemm_packed(m->out, H, m->x, m->I, m->wih, rows, H, m->I);
  for (int t = 0; t < m->T; t++) {
    float *h = m->out + (size_t)t * B * H;
    gemm_packed(h, H, t ? h - (size_t)B * H : m->h0, H, m->whh, B, H, H);
    for (int j = 0; j < B * H; j++) h[j] = tanh_rational(h[j]);
  }
}

// Gates i, f, g, o: c = σ(f)⊙c + σ(i)⊙tanh(g), h = σ(o)⊙tanh(c), from h = c = 0.
static void lstm_forward(Model *m) {
  const int H = m->H, B = m->B, G = 4 * H, rows = m->T * B;
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < G; j++) m->pre[(size_t)r * G + j] = m->bih[j] + m->bhh[j];
  gemm_packed(m->pre, G, m->x, m->I, m->wih, rows, G, m->I);
  memset(m->c, 0, (size_t)B * H * sizeof(float));
  for (int t = 0; t < m->T; t++) {
    float *a = m->pre + (size_t)t * B * G, *h = m->out + (size_t)t * B * H;
    gemm_packed(a, G, t ? h - (size_t)B * H : m->h0, H, m->whh, B, G, H);
    for (int b = 0; b < B; b++) {
      const float *ab = a + (size_t)b * G;
      float *cb = m->c + (size_t)b * H, *hb = h + (size_t)b * H;
      for (int j = 0; j < H; j++) {
        const float c = sigmoid(ab[H + j]) * cb[j] + sigmoid(ab[j]) * tanh_rational(ab[2 * H + j]);
        cb[j] = c;
        hb[j] = sigmoid(ab[3 * H + j]) * tanh_rational(c);
      }
    }
  }
}

// Gates r, z, n: n = tanh(x W_inᵀ + b_in + r⊙(h W_hnᵀ + b_hn)), h' = (1 - z)⊙n + z⊙h, from h = 0.
static void gru_forward(Model *m) {
  const int H = m->H, B = m->B, G = 3 * H, rows = m->T * B;
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < G; j++) m->pre[(size_t)r * G + j] = m->bih[j];
  gemm_packed(m->pre, G, m->x, m->I, m->wih, rows, G, m->I);
  for (int t = 0; t < m->T; t++) {
    const float *a = m->pre + (size_t)t * B * G;
    float *h = m->out + (size_t)t * B * H;
    const float *prev = t ? h - (size_t)B * H : m->h0;
    for (int b = 0; b < B; b++) memcpy(m->gh + (size_t)b * G, m->bhh, G * sizeof(float));
    gemm_packed(m->gh, G, prev, H, m->whh, B, G, H);
    for (int b = 0; b < B; b++) {
      const float *ab = a + (size_t)b * G, *gb = m->gh + (size_t)b * G, *pb = prev + (size_t)b * H;
      float *hb = h + (size_t)b * H;
      for (int j = 0; j < H; j++) {
        const float r = sigmoid(ab[j] + gb[j]), z = sigmoid(ab[H + j] + gb[H + j]);
        const float n = tanh_rational(ab[2 * H + j] + r * gb[2 * H + j]);
        hb[j] = (1 - z) * n + z * pb[j];
      }
    }
  }
}

static float *read_floats(FILE *f, size_t n) {
  float *v = aligned_alloc(64, n * sizeof(float) + 64);
  if (fread(v, sizeof(float), n, f) != n) {
    fprintf(stderr, "rnn: the data file is too short\n");
    exit(1);
  }
  return v;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: rnn <rnn|lstm|gru> I H T B <weights-and-input.f32> <output.f32>\n");
    return 2;
  }
  const char *cell = argv[1];
  void (*forward)(Model *) = !strcmp(cell, "lstm") ? lstm_forward : !strcmp(cell, "gru") ? gru_forward : rnn_forward;
  Model m = {.gates = !strcmp(cell, "lstm") ? 4 : !strcmp(cell, "gru") ? 3 : 1};
  m.I = atoi(argv[2]), m.H = atoi(argv[3]), m.T = atoi(argv[4]), m.B = atoi(argv[5]);
  const int G = m.gates * m.H;
  FILE *in = fopen(argv[6], "rb");
  if (!in) {
    perror(argv[6]);
    return 1;
  }
  float *wih = read_floats(in, (size_t)G * m.I), *whh = read_floats(in, (size_t)G * m.H);
  m.bih = read_floats(in, G), m.bhh = read_floats(in, G);
  m.x = read_floats(in, (size_t)m.T * m.B * m.I);
  fclose(in);
  m.wih = pack(wih, G, m.I), m.whh = pack(whh, G, m.H);
  m.out = aligned_alloc(64, (size_t)m.T * m.B * m.H * sizeof(float) + 64);
  m.pre = aligned_alloc(64, (size_t)m.T * m.B * G * sizeof(float) + 64);
  m.gh = aligned_alloc(64, (size_t)m.B * G * sizeof(float) + 64);
  m.c = aligned_alloc(64, (size_t)m.B * m.H * sizeof(float) + 64);
  m.h0 = calloc((size_t)m.B * m.H, sizeof(float));

  forward(&m);
  FILE *out = fopen(argv[7], "wb");
  if (!out || fwrite(m.out, sizeof(float), (size_t)m.T * m.B * m.H, out) != (size_t)m.T * m.B * m.H) {
    perror(argv[7]);
    return 1;
  }
  fclose(out);
  printf("ready\n");
  fflush(stdout);
  int n;
  while (scanf("%d", &n) == 1) {
    for (int i = 0; i < n; i++) {
      const double start = now_ns();
      forward(&m);
      printf(i ? " %.0f" : "%.0f", now_ns() - start);
    }
    printf("\n");
    fflush(stdout);
  }
  return 0;
}

// numpy's legacy RandomState, as far as a split needs it: MT19937 seeded as
// np.random.RandomState(seed) seeds it, and permutation(n), a Fisher–Yates shuffle drawing
// each index by masked rejection. sklearn's train_test_split(random_state=seed) takes
// RandomState(seed).permutation(n), so this reproduces its split index for index.
const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class Mt19937 {
  private readonly key = new Uint32Array(N);
  private pos = N;

  constructor(seed: number) {
    let s = seed >>> 0;
    for (let i = 0; i < N; i++) {
      this.key[i] = s;
      s = (Math.imul(1812433253, (s ^ (s >>> 30)) >>> 0) + i + 1) >>> 0;
    }
  }

  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.key[this.pos++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const key = this.key;
    const mix = (i: number, next: number, far: number) => {
      const y = ((key[i] as number) & UPPER_MASK) | ((key[next] as number) & LOWER_MASK);
      key[i] = (key[far] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    };
    for (let i = 0; i < N - M; i++) mix(i, i + 1, i + M);
    for (let i = N - M; i < N - 1; i++) mix(i, i + 1, i + M - N);
    mix(N - 1, 0, M - 1);
    this.pos = 0;
  }

  /** A uniform integer in [0, max], as numpy's legacy random_interval draws it (max < 2^32). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    for (let shift = 1; shift <= 16; shift *= 2) mask |= mask >>> shift;
    for (;;) {
      const value = (this.nextUint32() & mask) >>> 0;
      if (value <= max) return value;
    }
  }
}

/** np.random.RandomState(seed).permutation(n). */
export function numpyPermutation(n: number, seed: number): Uint32Array {
  const out = Uint32Array.from({ length: n }, (_, i) => i);
  const random = new Mt19937(seed);
  for (let i = n - 1; i >= 1; i--) {
    const j = random.interval(i);
    const swap = out[i] as number;
    out[i] = out[j] as number;
    out[j] = swap;
  }
  return out;
}

/**
 * sklearn's train_test_split(range(n), test_size=fraction, random_state=seed): the first
 * ceil(fraction · n) indices of the permutation are the test (validation) part, the rest train.
 */
export function sklearnSplitIndices(n: number, fraction: number, seed: number) {
  const order = numpyPermutation(n, seed);
  const testCount = Math.ceil(fraction * n);
  return { train: order.subarray(testCount), test: order.subarray(0, testCount) };
}

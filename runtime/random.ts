/**
 * One seeded generator per device (Mersenne Twister, as PyTorch's CPU generator). Values are made
 * on the host and written to the device.
 */
export class Generator {
  private mt = new Uint32Array(624);
  private index = 625;
  // Box-Muller makes values in pairs; the second waits here. Two fields, not `number | null`: a
  // field that holds only doubles is updated in place, one that may be null boxes every double.
  private hasSpare = false;
  private spare = 0;
  constructor(seed = 5489) {
    this.manualSeed(seed);
  }
  manualSeed(seed: number): this {
    if (!Number.isInteger(seed)) throw new TypeError(`manualSeed: seed must be an integer, got ${seed}`);
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = 624;
    this.hasSpare = false;
    return this;
  }
  nextUint32(): number {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
      mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }
  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
  /** Standard normal (Box-Muller, keeping the second value). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    this.hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Integer in [low, high). */
  randint(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  // The fills below give exactly the values of as many single calls, without a call or a boxed
  // double per element (a 128 x 784 randn made ~3 MB of garbage numbers through a callback).

  /** mean + std * normal() for every element. */
  fillNormal(out: Float64Array, mean = 0, std = 1): Float64Array {
    const n = out.length;
    let i = 0;
    if (n > 0 && this.hasSpare) {
      this.hasSpare = false;
      out[i++] = mean + std * this.spare;
    }
    while (i < n) {
      let u = 0;
      while (u === 0) u = this.random();
      const v = this.random();
      const r = Math.sqrt(-2 * Math.log(u));
      out[i++] = mean + std * (r * Math.cos(2 * Math.PI * v));
      const second = r * Math.sin(2 * Math.PI * v);
      if (i < n) out[i++] = mean + std * second;
      else {
        this.spare = second;
        this.hasSpare = true;
      }
    }
    return out;
  }
  /** lo + (hi - lo) * random() for every element; with `bits24`, random() cut to 24 bits first. */
  fillUniform(out: Float64Array, lo = 0, hi = 1, bits24 = false): Float64Array {
    const span = hi - lo;
    for (let i = 0; i < out.length; i++) {
      const u = bits24 ? Math.floor(this.random() * 16777216) / 16777216 : this.random();
      out[i] = lo + span * u;
    }
    return out;
  }
  /** randint(low, high) for every element. */
  fillRandint(out: Float64Array, low: number, high: number): Float64Array {
    const span = high - low;
    for (let i = 0; i < out.length; i++) out[i] = low + Math.floor(this.random() * span);
    return out;
  }
}

const generators = new Map<string, Generator>();

export function generatorFor(device: string): Generator {
  let g = generators.get(device);
  if (!g) {
    g = new Generator(defaultSeed);
    generators.set(device, g);
  }
  return g;
}

let defaultSeed = 5489;

/** Seeds every device's generator, as torch.manual_seed. */
export function manualSeed(seed: number): void {
  defaultSeed = seed;
  generators.clear();
  generatorFor('cpu').manualSeed(seed);
}

/** Fisher-Yates permutation of 0..n-1 from the generator. */
export function randperm(n: number, g: Generator = generatorFor('cpu')): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(g.random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

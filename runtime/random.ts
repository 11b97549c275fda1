/**
 * One seeded generator per device (Mersenne Twister, as PyTorch's CPU generator). Values are made
 * on the host and written to the device.
 */
export class Generator {
  private mt = new Uint32Array(624);
  private index = 625;
  private spare: number | null = null;
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
    this.spare = null;
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
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Integer in [low, high). */
  randint(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
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

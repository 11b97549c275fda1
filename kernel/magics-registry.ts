// The one door between the kernel and magics: modules under magics/ register here, and the
// evaluator looks names up here. The kernel never imports magics/ itself.

/** What a magic may ask of the evaluator that runs it. */
export interface MagicHost {
  /** Runs code as a cell in the persistent scope; resolves to its last expression's value. */
  run(code: string): Promise<unknown>;
  /** Compiles code once into a function that runs it (for %timeit's loops). */
  compile(code: string): Promise<() => unknown>;
  /** Top-level names cells have declared, with their current values. */
  variables(): [string, unknown][];
  print(text: string): void;
  /** Type errors of `code` checked against every earlier cell (empty when it checks). */
  typecheck: { enabled: boolean };
  magicNames(): string[];
}

export interface MagicContext {
  /** Text after the magic's name on its line. */
  args: string;
  /** For cell magics, the cell without its first line; '' for line magics. */
  body: string;
  host: MagicHost;
}

export interface Magic {
  name: string;
  kind: 'line' | 'cell';
  /** One line for %lsmagic. */
  help: string;
  /** A value other than undefined is shown as the cell's result. */
  run(ctx: MagicContext): unknown;
}

export class MagicRegistry {
  readonly #magics = new Map<string, Magic>();

  register(magic: Magic): void {
    this.#magics.set(key(magic.kind, magic.name), magic);
  }

  get(kind: Magic['kind'], name: string): Magic | undefined {
    return this.#magics.get(key(kind, name));
  }

  list(): Magic[] {
    return [...this.#magics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** `%a %b %%c`: how errors and %lsmagic name them. */
  names(): string[] {
    return this.list().map((m) => (m.kind === 'line' ? '%' : '%%') + m.name);
  }
}

function key(kind: Magic['kind'], name: string): string {
  return `${kind}:${name}`;
}

/** The registry the kernel and the REPL use; magics/ modules add to it when imported. */
export const magicRegistry = new MagicRegistry();

export class UnknownMagicError extends Error {
  override name = 'UsageError';
}

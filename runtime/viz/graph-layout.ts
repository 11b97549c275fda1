// Graphviz (compiled to WebAssembly by @viz-js/viz) made callable synchronously, so that
// `gb.viz.graph(loss)` can be a cell's last expression. See Note [synchronous Graphviz].
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The part of @viz-js/viz's Viz class used here. */
interface Viz {
  renderString(src: string, options: { format: string; engine?: string }): string;
  readonly graphvizVersion: string;
}

/**
 * Note [synchronous Graphviz]
 * @viz-js/viz exposes only `instance(): Promise<Viz>`: its emscripten glue is an `async function
 * Module()` that awaits `WebAssembly.instantiate` (and an empty run-dependency queue) before it
 * returns, and unlike other emscripten builds it reads no `wasmBinary` or `instantiateWasm` from
 * the module argument, so nothing passed in can make it synchronous. No cell can wait for a
 * promise either: a display must be ready when the cell's last expression is. Node, unlike
 * browsers, compiles and instantiates WebAssembly of any size synchronously (`new
 * WebAssembly.Module` / `new WebAssembly.Instance`), and the wasm is inlined in the glue, so
 * nothing needs fetching. So we read the package's ES build as text, make exactly the few edits
 * below (each must match once: a different build fails loudly here, not strangely later), and
 * evaluate it as a function body. The rest of the glue and the Viz class run as published. It
 * costs ~100 ms once per process; the instance is cached. If a future version's glue differs,
 * graph() falls back to the package's own async `instance()`, and views render once it loads.
 */
const EDITS: readonly [string, string][] = [
  ['async function Module(moduleArg={}){', 'function Module(moduleArg={}){'],
  ['async function getWasmBinary(', 'function getWasmBinary('],
  [
    'async function instantiateArrayBuffer(binaryFile,imports){try{var binary=await getWasmBinary(binaryFile);' +
      'var instance=await WebAssembly.instantiate(binary,imports);return instance}',
    'function instantiateArrayBuffer(binaryFile,imports){try{var binary=getWasmBinary(binaryFile);' +
      'var module=new WebAssembly.Module(binary);return{module,instance:new WebAssembly.Instance(module,imports)}}',
  ],
  ['async function instantiateAsync(', 'function instantiateAsync('],
  ['async function createWasm(){', 'function createWasm(){'],
  ['var result=await instantiateAsync(', 'var result=instantiateAsync('],
  [
    'async function run(){if(runDependencies){await resolveRunDependencies();}',
    'function run(){if(runDependencies){throw new Error("Graphviz: pending run dependencies")}',
  ],
  ['wasmExports=await createWasm();await run();', 'wasmExports=createWasm();run();'],
  ['import.meta.url', '__gbVizUrl'],
  ['export { engines, formats, graphvizVersion, instance };', 'return { Module, Viz };'],
];

let cached: Viz | null = null;
let syncFailure: string | null = null;
let pending: Promise<void> | null = null;

function vizSource(): { file: string; src: string } {
  const require = createRequire(import.meta.url);
  // the package's exports map sends require() to dist/viz.cjs; the ES build lies beside it
  const file = join(dirname(require.resolve('@viz-js/viz')), 'viz.js');
  return { file, src: readFileSync(file, 'utf8') };
}

function loadSync(): Viz {
  const { file, src } = vizSource();
  let patched = src;
  for (const [from, to] of EDITS) {
    const at = patched.indexOf(from);
    if (at < 0 || patched.indexOf(from, at + from.length) >= 0) {
      throw new Error(`@viz-js/viz at ${file} is not the build this loader knows (looked for ${JSON.stringify(from.slice(0, 40))})`);
    }
    patched = patched.slice(0, at) + to + patched.slice(at + from.length);
  }
  type Made = { Module: () => unknown; Viz: new (module: unknown) => Viz };
  const made = new Function('__gbVizUrl', patched)(pathToFileURL(file).href) as Made;
  return new made.Viz(made.Module());
}

/**
 * The cached Graphviz instance, made synchronously on first use; null while only the async
 * fallback can make it (then `whyNotReady()` says why).
 */
export function graphviz(): Viz | null {
  if (cached) return cached;
  if (syncFailure === null) {
    try {
      cached = loadSync();
      return cached;
    } catch (e) {
      syncFailure = e instanceof Error ? e.message : String(e);
    }
  }
  pending ??= import('@viz-js/viz')
    .then((m) => m.instance())
    .then(
      (v) => {
        cached = v as unknown as Viz;
      },
      (e: unknown) => {
        syncFailure += `; its async loader failed too: ${e instanceof Error ? e.message : String(e)}`;
      },
    );
  return null;
}

/** Why graphviz() gave null. */
export function whyNotReady(): string {
  return `Graphviz could not be loaded synchronously (${syncFailure}); it is loading in the background, display the view again`;
}

/** Resolves once the fallback loader has settled (for callers that can await). */
export function graphvizReady(): Promise<void> {
  return pending ?? Promise.resolve();
}

/** Lays out DOT source with the dot engine and returns the SVG, without the XML prolog and comments. */
export function renderSvg(viz: Viz, dot: string): string {
  const svg = viz.renderString(dot, { format: 'svg', engine: 'dot' });
  const start = svg.indexOf('<svg');
  return (start >= 0 ? svg.slice(start) : svg).replace(/<!--[\s\S]*?-->\n?/g, '');
}

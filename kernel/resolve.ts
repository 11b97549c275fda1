// `import` in a cell resolves from the notebook's folder (process.cwd(), which %cd moves), not from
// the kernel's own install folder, so packages installed beside a notebook are found.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Esbuild from 'esbuild';
import { build } from './esbuild-service.js';

const ESM_CONDITIONS = ['import', 'node', 'default'];

export async function importFrom(specifier: string, fromDir: string): Promise<unknown> {
  if (isBuiltin(specifier)) return import(specifier);
  if (specifier.startsWith('file:') || specifier.startsWith('data:')) return import(specifier);
  if (specifier.startsWith('.') || isAbsolute(specifier)) {
    const path = resolve(fromDir, specifier);
    const ts = typeScriptFile(path);
    return import(ts ? await transpiledModule(ts) : pathToFileURL(path).href);
  }
  return import(pathToFileURL(resolvePackage(specifier, fromDir)).href);
}

/**
 * Prefers a package's ESM entry (the "import" condition of "exports"), as `import` in a module
 * would; falls back to require's resolution for packages without "exports" (main, index.js).
 */
export function resolvePackage(specifier: string, fromDir: string): string {
  const parts = specifier.split('/');
  const nameLength = specifier.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, nameLength).join('/');
  const subpath = parts.length > nameLength ? './' + parts.slice(nameLength).join('/') : '.';
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', name);
    const pkgJson = join(pkgDir, 'package.json');
    if (existsSync(pkgJson)) {
      const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { exports?: unknown };
      if (pkg.exports !== undefined) {
        const target = resolveExports(pkg.exports, subpath);
        if (target) return join(pkgDir, target);
      }
      break;
    }
    if (dirname(dir) === dir) break;
  }
  return createRequire(join(fromDir, '__gradbook_cell__.js')).resolve(specifier);
}

function resolveExports(exports: unknown, subpath: string): string | undefined {
  if (typeof exports === 'string' || Array.isArray(exports))
    return subpath === '.' ? pickTarget(exports) : undefined;
  if (typeof exports !== 'object' || exports === null) return undefined;
  const map = exports as Record<string, unknown>;
  const isSubpathMap = Object.keys(map).some((k) => k.startsWith('.'));
  if (!isSubpathMap) return subpath === '.' ? pickTarget(map) : undefined;
  if (subpath in map) return pickTarget(map[subpath]);
  // Patterns like "./features/*": one star, replaced by what it matched.
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf('*');
    if (star < 0) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix)) {
      const match = subpath.slice(prefix.length, subpath.length - suffix.length);
      return pickTarget(value)?.replace('*', match);
    }
  }
  return undefined;
}

function pickTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const t of target) {
      const found = pickTarget(t);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof target === 'object' && target !== null) {
    for (const [cond, value] of Object.entries(target)) {
      if (ESM_CONDITIONS.includes(cond)) {
        const found = pickTarget(value);
        if (found) return found;
      }
    }
  }
  return undefined;
}

const TS_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx'];
const JS_TO_TS: Record<string, string[]> = { '.js': ['.ts', '.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'], '.jsx': ['.tsx'] };

/**
 * The TypeScript file a relative import means, if any: `./f.ts` itself, `./f.js` when only
 * `./f.ts` exists (TypeScript's own convention for ESM), or `./f` when `./f.ts` exists.
 */
export function typeScriptFile(path: string): string | undefined {
  const ext = extname(path);
  if (TS_EXTENSIONS.includes(ext)) return existsSync(path) ? path : undefined;
  if (existsSync(path) && ext !== '') return undefined;
  const stem = ext in JS_TO_TS ? path.slice(0, -ext.length) : path;
  for (const tsExt of JS_TO_TS[ext] ?? TS_EXTENSIONS) {
    if (existsSync(stem + tsExt)) return stem + tsExt;
  }
  return undefined;
}

/**
 * Note [TypeScript beside a notebook]
 * `import { f } from './helpers.ts'` in a cell: esbuild bundles helpers.ts with the local files it
 * imports (types stripped, no type check, as for cells) into one ES module, and packages and
 * built-ins stay imports, rewritten to absolute file URLs resolved from the importing file's
 * folder, so the module can live in a cache folder and still find the notebook's node_modules.
 * The file is named by a hash of its contents: importing an unchanged helper again gives the same
 * module instance (as Node would), and an edited one is loaded afresh. import.meta.url inside a
 * helper names the cached file, not the source.
 */
async function transpiledModule(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'silent',
    plugins: [externalPackages],
  });
  const code = result.outputFiles[0]!.contents;
  const hash = createHash('sha256').update(entry).update(code).digest('hex').slice(0, 20);
  const dir = join(tmpdir(), 'gradbook-ts-imports');
  const file = join(dir, `${hash}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, file);
  }
  return pathToFileURL(file).href;
}

const externalPackages: Esbuild.Plugin = {
  name: 'gradbook-external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (isAbsolute(args.path) || args.path.startsWith('file:')) return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      try {
        return { path: pathToFileURL(resolvePackage(args.path, args.resolveDir)).href, external: true };
      } catch {
        // Left as written: the import fails when the module runs, with Node's own message.
        return { path: args.path, external: true };
      }
    });
  },
};

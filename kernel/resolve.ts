// `import` in a cell resolves from the notebook's folder (process.cwd(), which %cd moves), not from
// the kernel's own install folder, so packages installed beside a notebook are found.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ESM_CONDITIONS = ['import', 'node', 'default'];

export async function importFrom(specifier: string, fromDir: string): Promise<unknown> {
  if (isBuiltin(specifier)) return import(specifier);
  if (specifier.startsWith('file:') || specifier.startsWith('data:')) return import(specifier);
  if (specifier.startsWith('.') || isAbsolute(specifier)) {
    return import(pathToFileURL(resolve(fromDir, specifier)).href);
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

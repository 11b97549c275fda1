// Bundles a bench entry point that imports runtime/ from source, so a bench measures the working
// tree whatever the state of dist/, and type errors elsewhere cannot stop it.
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * Bundles `entry` into node_modules/.cache/FOLDER/ and returns the bundle's path. The native
 * backend looks for build/Release/ beside the package.json of the package it runs from: the
 * bundle gets a package of its own, with a copy of the addon taken now, so that a rebuild during
 * the run (which deletes the addon for a while) cannot switch later rounds to the reference
 * backend. (Not cpu-kernels.js's folder, gradbook-bench/, which must keep finding the live build/.)
 */
export async function bundleRuntime(entry, folder) {
  const outdir = join(root, 'node_modules', '.cache', folder);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(join(outdir, 'build', 'Release'), { recursive: true });
  writeFileSync(join(outdir, 'package.json'), JSON.stringify({ name: 'gradbook', private: true, type: 'module' }));
  const addon = join(root, 'build', 'Release', 'gradbook_cpu.node');
  // a build/ touched in the last minute without the addon is a rebuild under way: wait for it
  for (let waited = 0; !existsSync(addon) && waited < 180; waited += 5) {
    const building = existsSync(join(root, 'build')) && Date.now() - statSync(join(root, 'build')).mtimeMs < 60_000;
    if (!building) break;
    if (waited === 0) console.error('bench: the native addon is being rebuilt; waiting for it (up to 3 minutes)');
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
  // a few seconds more: the linker may still be writing it
  if (existsSync(addon) && Date.now() - statSync(addon).mtimeMs < 5000) await new Promise((resolve) => setTimeout(resolve, 5000));
  if (existsSync(addon)) copyFileSync(addon, join(outdir, 'build', 'Release', 'gradbook_cpu.node'));
  const outfile = join(outdir, basename(entry).replace(/\.ts$/, '.mjs'));
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'error' });
  return outfile;
}

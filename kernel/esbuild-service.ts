// esbuild through one door, so a dead esbuild service can be replaced.
// Ctrl-C in a terminal sends SIGINT to the whole foreground process group, which kills esbuild's
// service child process; every later transform would then fail with "The service is no longer
// running". esbuild's CommonJS entry keeps that service in module state, so loading the module
// afresh (after dropping it from require's cache) starts a new one.
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import type * as Esbuild from 'esbuild';

const require = createRequire(import.meta.url);
let loaded: typeof Esbuild | undefined;

function esbuild(): typeof Esbuild {
  return (loaded ??= require('esbuild') as typeof Esbuild);
}

const DEAD = /service (is no longer running|was stopped)/;

function restart(): void {
  for (const key of Object.keys(require.cache)) {
    if (key.includes(`${sep}esbuild${sep}`)) delete require.cache[key];
  }
  loaded = undefined;
}

export function transformSync(source: string, options: Esbuild.TransformOptions): Esbuild.TransformResult {
  try {
    return esbuild().transformSync(source, options);
  } catch (err) {
    if (!DEAD.test(String((err as Error).message))) throw err;
    restart();
    return esbuild().transformSync(source, options);
  }
}

export async function build(options: Esbuild.BuildOptions & { write: false }): Promise<Esbuild.BuildResult<{ write: false }>> {
  try {
    return await esbuild().build(options);
  } catch (err) {
    if (!DEAD.test(String((err as Error).message))) throw err;
    restart();
    return esbuild().build(options);
  }
}

export type TransformFailure = Esbuild.TransformFailure;

// `gradbook kernel -f FILE`, `gradbook install [--user | --prefix DIR]`, `gradbook repl`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const USAGE = `usage:
  gradbook repl                          start the terminal REPL
  gradbook install [--user | --prefix DIR]
                                         write the Jupyter kernelspec "gradbook"
                                         (default --user; --prefix DIR writes DIR/share/jupyter/kernels)
  gradbook kernel -f CONNECTION_FILE     run the kernel (Jupyter starts it this way)`;

export async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'kernel': {
      const at = rest.findIndex((a) => a === '-f' || a === '--connection-file');
      const file =
        at >= 0 ? rest[at + 1] : rest.find((a) => a.startsWith('--connection-file='))?.split('=')[1];
      if (!file) return fail('kernel needs -f CONNECTION_FILE');
      const { launchKernel } = await import('./launch.js');
      await launchKernel(file);
      return undefined;
    }
    case 'install': {
      const at = rest.indexOf('--prefix');
      if (at >= 0 && !rest[at + 1]) return fail('--prefix needs a directory');
      const dir = installKernelspec(at >= 0 ? { prefix: rest[at + 1]! } : { user: true });
      process.stdout.write(`Installed the kernelspec gradbook in ${dir}\n`);
      return 0;
    }
    case 'repl': {
      const { startRepl } = await import('./repl.js');
      return startRepl();
    }
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE + '\n');
      return command === undefined ? 1 : 0;
    default:
      return fail(`unknown command ${command}`);
  }
}

function fail(message: string): number {
  process.stderr.write(`gradbook: ${message}\n${USAGE}\n`);
  return 2;
}

/** Jupyter's per-user data folder, as jupyter_core computes it. */
function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Jupyter');
  if (process.platform === 'win32') return join(process.env.APPDATA ?? homedir(), 'jupyter');
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'jupyter');
}

export function installKernelspec(where: { user: true } | { prefix: string }): string {
  const base = 'prefix' in where ? join(resolve(where.prefix), 'share', 'jupyter') : userDataDir();
  const dir = join(base, 'kernels', 'gradbook');
  const bin = fileURLToPath(new URL('../../bin/gradbook.js', import.meta.url));
  const spec = {
    // The absolute node path keeps the kernel working when Jupyter's PATH differs from the shell's.
    argv: [process.execPath, bin, 'kernel', '-f', '{connection_file}'],
    display_name: 'TypeScript (gradbook)',
    language: 'typescript',
    // interrupt_request reaches the I/O worker, which can stop even a loop that SIGINT cannot.
    interrupt_mode: 'message',
    metadata: {},
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kernel.json'), JSON.stringify(spec, null, 2) + '\n');
  return dir;
}

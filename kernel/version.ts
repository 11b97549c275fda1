import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'gradbook' && pkg.version) return pkg.version;
    } catch {
      // Not at this depth (source tree vs dist/): try the next.
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();

// Turns a thrown value into Jupyter's {ename, evalue, traceback}, with stack frames of cells mapped
// back through esbuild's source map to the line the person wrote.
import { SourceMap } from 'node:module';
import { inspect } from 'node:util';
import { CellSyntaxError, unshiftColumn, type CompiledCell } from './transform.js';

export interface ErrorReport {
  ename: string;
  evalue: string;
  traceback: string[];
}

type CellMap = Pick<CompiledCell, 'sourceMap' | 'shifts' | 'sourceShifts'> & {
  /** The script's last line, the wrapper's own `})()`. */
  lastLine: number;
};

/** Source maps by script file name; parsed only when an error needs one. */
export class CellMaps {
  readonly #raw = new Map<string, CellMap>();
  readonly #parsed = new Map<string, SourceMap>();

  add(fileName: string, cell: CellMap): void {
    this.#raw.set(fileName, cell);
  }

  /** The wrapper's own `})()` line: a frame there is the kernel calling the cell, not user code. */
  isWrapperLine(fileName: string, line: number): boolean {
    return this.#raw.get(fileName)?.lastLine === line;
  }

  map(fileName: string, line: number, column: number): { line: number; column: number } | undefined {
    const raw = this.#raw.get(fileName);
    if (!raw) return undefined;
    let sm = this.#parsed.get(fileName);
    if (!sm) {
      sm = new SourceMap(JSON.parse(raw.sourceMap));
      this.#parsed.set(fileName, sm);
    }
    // Undo the rewrite's column shifts to get back to esbuild's column, map to the text esbuild
    // read, and undo the shifts made on that text to get to the cell as written.
    const jsColumn = unshiftColumn(raw.shifts, line, column - 1);
    const entry = sm.findEntry(line - 1, Math.max(0, jsColumn)) as {
      originalLine?: number;
      originalColumn?: number;
    };
    if (entry.originalLine === undefined) return undefined;
    const original = unshiftColumn(raw.sourceShifts, entry.originalLine + 1, entry.originalColumn ?? 0);
    return { line: entry.originalLine + 1, column: original + 1 };
  }
}

const CELL_FRAME = /(cell\d+\.ts):(\d+):(\d+)/;
// Frames from the kernel's own files say nothing to the person and change with every release.
const KERNEL_DIR = new URL('.', import.meta.url).pathname;

export function reportError(err: unknown, maps: CellMaps): ErrorReport {
  if (err instanceof CellSyntaxError) {
    return {
      ename: 'SyntaxError',
      evalue: err.message,
      traceback: [`SyntaxError: ${err.message}`, `    at line ${err.line}, column ${err.column + 1}`],
    };
  }
  if (!(err instanceof Error) && !isErrorLike(err)) {
    const text = inspect(err);
    return { ename: 'Uncaught', evalue: text, traceback: [`Uncaught ${text}`] };
  }
  const e = err as Error;
  const ename = e.name || 'Error';
  const evalue = e.message ?? '';
  const frames = String(e.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .filter((l) => !l.includes(KERNEL_DIR) && !/[( ]node:/.test(l))
    .filter((l) => {
      const m = CELL_FRAME.exec(l);
      return !m || !maps.isWrapperLine(m[1]!, Number(m[2]));
    })
    .map((l) =>
      l.replace(CELL_FRAME, (whole, file: string, line: string, col: string) => {
        const mapped = maps.map(file, Number(line), Number(col));
        return mapped ? `${file}:${mapped.line}:${mapped.column}` : whole;
      }),
    );
  return { ename, evalue, traceback: [`${ename}: ${evalue}`, ...frames] };
}

function isErrorLike(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'stack' in v && 'message' in v;
}

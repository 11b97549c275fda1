// is_complete for the notebook console and the REPL's multi-line input: esbuild's parse error
// tells an unfinished cell (error at the end of input) from a wrong one.
import { transformSync, type TransformFailure } from './esbuild-service.js';
import type { IsCompleteReply } from './protocol.js';

export function isComplete(code: string): IsCompleteReply {
  const lines = code.split('\n');
  const firstLine = lines.find((l) => l.trim() !== '') ?? '';
  // A cell magic takes lines until an empty one, as in IPython.
  if (/^\s*%%/.test(firstLine)) {
    const endsWithEmptyLine = lines.length > 1 && lines[lines.length - 1]!.trim() === '';
    return endsWithEmptyLine ? { status: 'complete' } : { status: 'incomplete', indent: '' };
  }
  // Magic lines and `x?` are not TypeScript; blank them so they do not read as errors.
  const code2 = lines.map((l) => (/^\s*%/.test(l) || /^\s*\?|\?\s*$/.test(l) ? '' : l)).join('\n');
  try {
    transformSync(code2, { loader: 'ts', supported: { 'top-level-await': true }, format: 'esm' });
    return { status: 'complete' };
  } catch (err) {
    const errors = (err as TransformFailure).errors ?? [];
    const atEnd = errors.some(
      (e) =>
        /end of file|Unterminated/i.test(e.text) ||
        (e.location &&
          e.location.line >= lines.length &&
          e.location.column >= (lines[lines.length - 1]?.length ?? 0)),
    );
    if (atEnd) return { status: 'incomplete', indent: nextIndent(lines[lines.length - 1] ?? '') };
    return { status: 'invalid' };
  }
}

function nextIndent(lastLine: string): string {
  const current = /^\s*/.exec(lastLine)![0];
  return /[{([]\s*$/.test(lastLine) ? current + '  ' : current;
}

// Splits a cell into code, magics and `x?` inspections, IPython-style.

export type Segment =
  | { kind: 'code'; code: string }
  | { kind: 'line' | 'cell'; name: string; args: string; body: string }
  | { kind: 'inspect'; expression: string; detail: 0 | 1 };

const LINE_MAGIC = /^\s*%([A-Za-z_][\w-]*)(?:[ \t]+(.*))?$/;
const CELL_MAGIC = /^\s*%%([A-Za-z_][\w-]*)(?:[ \t]+(.*))?$/;
// `x?`, `x??`, `?x`, `??x` alone in a cell: a name or a property path.
const INSPECT = /^\s*(\?{1,2})?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(\?{1,2})?\s*$/;

export function splitCell(code: string): Segment[] {
  const lines = code.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0) return [];
  const cellMagic = CELL_MAGIC.exec(lines[first]!);
  if (cellMagic) {
    return [
      {
        kind: 'cell',
        name: cellMagic[1]!,
        args: (cellMagic[2] ?? '').trim(),
        body: lines.slice(first + 1).join('\n'),
      },
    ];
  }
  const inspect = INSPECT.exec(code);
  if (inspect && (inspect[1] || inspect[3]) && !(inspect[1] && inspect[3])) {
    const marks = inspect[1] ?? inspect[3]!;
    return [{ kind: 'inspect', expression: inspect[2]!, detail: marks.length === 2 ? 1 : 0 }];
  }
  const segments: Segment[] = [];
  let codeStart = 0;
  const flushCode = (end: number) => {
    const chunk = lines.slice(codeStart, end);
    if (chunk.some((l) => l.trim() !== '')) {
      // Leading newlines keep the chunk's line numbers equal to the cell's in error stacks.
      segments.push({ kind: 'code', code: '\n'.repeat(codeStart) + chunk.join('\n') });
    }
  };
  lines.forEach((line, i) => {
    const m = LINE_MAGIC.exec(line);
    if (!m) return;
    flushCode(i);
    segments.push({ kind: 'line', name: m[1]!, args: (m[2] ?? '').trim(), body: '' });
    codeStart = i + 1;
  });
  flushCode(lines.length);
  return segments;
}

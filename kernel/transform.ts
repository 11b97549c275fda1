// Turns one TypeScript cell into a script that runs in the kernel's persistent global scope.
// See Note [cell scripts] below for why declarations become global assignments.
import { transformSync, type TransformFailure } from './esbuild-service.js';
import type * as TS from 'typescript';

/**
 * Note [cell scripts]
 * A cell is transpiled by esbuild (types stripped, no type check) and then its *top-level*
 * statements are rewritten on the JS text, keeping every line where it was so the source map
 * esbuild produced still maps stack frames back to the cell:
 *   - `const|let|var a = 1, {b} = c` → `;(a = 1, {b} = c)` and `var a, b` is hoisted to the script
 *     head, so bindings land on the global object and re-running `const x = 1` is not a
 *     redeclaration error (const-ness is lost; `%typecheck on` still reports it);
 *   - `class Foo {}` → `Foo = class Foo {}`; function declarations stay (they hoist inside the
 *     wrapper) and are copied to the global at the wrapper's start;
 *   - `import x, {y as z} from 'm'` → `;({default: x, y: z} = await __gradbook.import("m"))`, and
 *     `import(...)` anywhere → `__gradbook.import(...)`, which resolves from the notebook's folder;
 *   - the last expression statement becomes the wrapper's return value.
 * Everything runs inside `(async () => { ... })()` so top-level await works; the wrapper's
 * prefix sits on line 1 and adds no newline.
 */

export const HOST = '__gradbook';

export interface CompiledCell {
  /** JavaScript ready for vm.Script; evaluates to a Promise of the last expression's value. */
  script: string;
  /** esbuild's source map (JSON), used only when an error needs its stack mapped. */
  sourceMap: string;
  /** Top-level names the cell binds (for %who and the language service). */
  declared: string[];
  /** Whether the cell ends in an expression whose value should be shown. */
  hasResult: boolean;
  /**
   * Column shifts the rewrite made, as [line, column in the script, delta]: a stack frame at or
   * right of that column on that line sits `delta` characters right of where esbuild put it.
   */
  shifts: ColumnShift[];
}

export type ColumnShift = [line: number, column: number, delta: number];

export class CellSyntaxError extends Error {
  override name = 'SyntaxError';
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

type Ts = typeof TS;

interface Edit {
  start: number;
  end: number;
  text: string;
}

export function compileCell(ts: Ts, source: string, fileName: string): CompiledCell {
  let js: string;
  let sourceMap: string;
  try {
    const out = transformSync(source, {
      loader: 'ts',
      sourcefile: fileName,
      sourcemap: 'external',
      target: 'es2022',
      // Keep imports that look unused: a later cell may use what this one imports.
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
      supported: { 'top-level-await': true },
    });
    js = out.code;
    sourceMap = out.map;
  } catch (err) {
    const first = (err as TransformFailure).errors?.[0];
    if (!first) throw err;
    throw new CellSyntaxError(first.text, first.location?.line ?? 1, first.location?.column ?? 0);
  }
  const sf = ts.createSourceFile(fileName + '.js', js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits: Edit[] = [];
  const declared = new Set<string>();
  const functions: string[] = [];
  const statements = sf.statements;
  let hasResult = false;

  for (const [index, stmt] of statements.entries()) {
    const isLast = index === statements.length - 1;
    rewriteImportCalls(ts, stmt, edits);
    if (ts.isImportDeclaration(stmt)) {
      edits.push(importEdit(ts, sf, stmt));
      collectImportNames(ts, stmt, declared);
    } else if (ts.isVariableStatement(stmt)) {
      stripExport(ts, sf, stmt, edits);
      const list = stmt.declarationList;
      // Const and Using share bits (AwaitUsing = Const | Using), so compare the whole field.
      const kind = list.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const | ts.NodeFlags.Using);
      if (kind === ts.NodeFlags.Using || kind === ts.NodeFlags.AwaitUsing) continue;
      const isVar = kind === 0;
      const first = list.declarations[0];
      if (!first) continue;
      edits.push({ start: list.getStart(sf), end: first.getStart(sf), text: ';(' });
      for (const decl of list.declarations) {
        collectBindingNames(ts, decl.name, declared);
        if (!decl.initializer && !isVar)
          edits.push({ start: decl.name.end, end: decl.name.end, text: ' = undefined' });
        if (!decl.initializer && isVar)
          edits.push({ start: decl.name.getStart(sf), end: decl.name.end, text: 'void 0' });
      }
      edits.push({ start: list.end, end: list.end, text: ')' });
    } else if (ts.isFunctionDeclaration(stmt) && stmt.name) {
      stripExport(ts, sf, stmt, edits);
      declared.add(stmt.name.text);
      functions.push(stmt.name.text);
    } else if (ts.isClassDeclaration(stmt) && stmt.name) {
      stripExport(ts, sf, stmt, edits);
      declared.add(stmt.name.text);
      const at = classKeywordStart(ts, sf, stmt);
      edits.push({ start: at, end: at, text: `${stmt.name.text} = ` });
      edits.push({ start: stmt.end, end: stmt.end, text: ';' });
    } else if (ts.isExportDeclaration(stmt)) {
      edits.push({ start: stmt.getStart(sf), end: stmt.end, text: blankKeepingLines(stmt.getText(sf)) });
    } else if (ts.isExportAssignment(stmt)) {
      edits.push({ start: stmt.getStart(sf), end: stmt.expression.getStart(sf), text: '' });
      if (isLast) {
        hasResult = true;
        edits.push(...returnEdits(sf, stmt.expression));
      }
    } else if (isLast && ts.isExpressionStatement(stmt)) {
      hasResult = true;
      edits.push(...returnEdits(sf, stmt.expression));
    }
  }

  const names = [...declared];
  const head = names.length > 0 ? `var ${names.join(', ')}; ` : '';
  const publish = functions.map((f) => `globalThis.${f} = ${f}; `).join('');
  const prefix = `${head}(async () => { ${publish}`;
  const { text: body, shifts } = applyEdits(js, edits, prefix.length);
  const script = `${prefix}${body.replace(/\n$/, '')}\n})()`;
  shifts.unshift([1, prefix.length, prefix.length]);
  return { script, sourceMap, declared: names, hasResult, shifts };
}

function returnEdits(sf: TS.SourceFile, expr: TS.Expression): Edit[] {
  // Parenthesised so `return` followed by a newline inside the expression still returns it.
  return [
    { start: expr.getStart(sf), end: expr.getStart(sf), text: 'return (' },
    { start: expr.end, end: expr.end, text: ')' },
  ];
}

function stripExport(ts: Ts, sf: TS.SourceFile, stmt: TS.Statement, edits: Edit[]): void {
  const mods = ts.canHaveModifiers(stmt) ? ts.getModifiers(stmt) : undefined;
  for (const m of mods ?? []) {
    if (m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword) {
      edits.push({ start: m.getStart(sf), end: m.end, text: '' });
    }
  }
}

function classKeywordStart(ts: Ts, sf: TS.SourceFile, stmt: TS.ClassDeclaration): number {
  const mods = ts.getModifiers(stmt) ?? [];
  const last = mods[mods.length - 1];
  const from = last ? last.end : stmt.getStart(sf);
  return from + (sf.text.slice(from).search(/\S/) || 0);
}

function importEdit(ts: Ts, sf: TS.SourceFile, stmt: TS.ImportDeclaration): Edit {
  const spec = (stmt.moduleSpecifier as TS.StringLiteral).text;
  const load = `await ${HOST}.import(${JSON.stringify(spec)})`;
  const clause = stmt.importClause;
  const original = stmt.getText(sf);
  const newlines = '\n'.repeat((original.match(/\n/g) ?? []).length);
  if (!clause) return { start: stmt.getStart(sf), end: stmt.end, text: `;${load};${newlines}` };
  const props: string[] = [];
  if (clause.name) props.push(`default: ${clause.name.text}`);
  const bindings = clause.namedBindings;
  let text: string;
  if (bindings && ts.isNamespaceImport(bindings)) {
    const ns = bindings.name.text;
    text = props.length ? `;(${ns} = ${load}, {${props[0]}} = ${ns});` : `;(${ns} = ${load});`;
  } else {
    for (const el of bindings?.elements ?? []) {
      const imported = el.propertyName ? el.propertyName.getText(sf) : el.name.text;
      props.push(`${imported}: ${el.name.text}`);
    }
    text = `;({${props.join(', ')}} = ${load});`;
  }
  return { start: stmt.getStart(sf), end: stmt.end, text: text + newlines };
}

function collectImportNames(ts: Ts, stmt: TS.ImportDeclaration, out: Set<string>): void {
  const clause = stmt.importClause;
  if (!clause) return;
  if (clause.name) out.add(clause.name.text);
  const b = clause.namedBindings;
  if (b && ts.isNamespaceImport(b)) out.add(b.name.text);
  else for (const el of b?.elements ?? []) out.add(el.name.text);
}

function collectBindingNames(ts: Ts, name: TS.BindingName, out: Set<string>): void {
  if (ts.isIdentifier(name)) {
    out.add(name.text);
    return;
  }
  for (const el of name.elements) {
    if (ts.isBindingElement(el)) collectBindingNames(ts, el.name, out);
  }
}

function rewriteImportCalls(ts: Ts, node: TS.Node, edits: Edit[]): void {
  const visit = (n: TS.Node): void => {
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      edits.push({ start: n.expression.getStart(), end: n.expression.end, text: `${HOST}.import` });
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
}

function blankKeepingLines(text: string): string {
  return text.replace(/[^\n]/g, '');
}

function applyEdits(
  text: string,
  edits: Edit[],
  firstLineOffset: number,
): { text: string; shifts: ColumnShift[] } {
  // Stable sort: insertions at one position keep the order they were pushed in.
  const sorted = edits.map((e, i) => ({ ...e, i })).sort((a, b) => a.start - b.start || a.i - b.i);
  const shifts: ColumnShift[] = [];
  let out = '';
  let at = 0;
  let line = 1;
  let lineStart = -firstLineOffset;
  for (const e of sorted) {
    if (e.start < at) continue;
    const before = text.slice(at, e.start);
    for (let i = before.indexOf('\n'); i >= 0; i = before.indexOf('\n', i + 1)) {
      line++;
      lineStart = out.length + i + 1;
    }
    out += before;
    const removed = text.slice(e.start, e.end);
    if (!e.text.includes('\n') && !removed.includes('\n')) {
      shifts.push([line, out.length - lineStart + e.text.length, e.text.length - removed.length]);
    } else {
      for (let i = e.text.indexOf('\n'); i >= 0; i = e.text.indexOf('\n', i + 1)) {
        line++;
        lineStart = out.length + i + 1;
      }
    }
    out += e.text;
    at = e.end;
  }
  return { text: out + text.slice(at), shifts };
}

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
 *   - the cell's completion value becomes the wrapper's return value (Note [completion value]).
 * Everything runs inside `(async () => { ... })()` so top-level await works; the wrapper's
 * prefix sits on line 1 and adds no newline.
 */

/**
 * Note [completion value]
 * A cell shows what a script's completion value would be (ECMAScript's UpdateEmpty rules, as Node's
 * REPL shows them for a script and V8's REPL mode for one with top-level await): `if (c) { 1 }`,
 * `try { f() } catch (e) { e.message }`, a loop's last iteration, a labelled block. The wrapper is a
 * function, whose own value is only what it returns, so the rewrite keeps the completion value in a
 * local (COMPLETION) and returns it at the end:
 *   - an expression statement in completion position (outside any function, class or `finally`)
 *     becomes `COMPLETION = (expr)`;
 *   - `if`, loops, `switch`, `try` and `with` complete with `undefined` when their body completes
 *     with nothing (`1; if (false) {}` is undefined), so each first sets COMPLETION to undefined,
 *     as does a `catch` block (a throw discards what the `try` block had computed);
 *   - declarations, `break`, `continue` and empty statements leave it as it was.
 * "The last assignment that ran" is then exactly the completion value: a statement with an empty
 * completion assigns nothing, and every other one assigns its value last.
 */
export const HOST = '__gradbook';
const COMPLETION = `${HOST}_value`;

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
  /** The shifts the completion rewrite made on the TypeScript text esbuild's map points into. */
  sourceShifts: ColumnShift[];
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
  // As Node's REPL: a cell that starts with `{` and does not end in `;` is first read as an object
  // literal (`{ a: 1 }` shows the object, not a block labelled `a`), and as statements if that
  // fails. The newline keeps a trailing line comment from swallowing the parenthesis.
  if (/^\s*\{/.test(source) && !/;\s*$/.test(source)) {
    try {
      return compileStatements(ts, source, fileName, true);
    } catch (err) {
      if (!(err instanceof CellSyntaxError)) throw err;
    }
  }
  return compileStatements(ts, source, fileName, false);
}

function compileStatements(ts: Ts, source: string, fileName: string, objectLiteral: boolean): CompiledCell {
  // The completion value is kept on the TypeScript text, before esbuild, which drops expression
  // statements it sees no effect in (`-1`, `'a' + 'b'`) and so would lose a cell's value.
  const sourceEdits: Edit[] = [];
  let hasResult = true;
  if (objectLiteral) {
    sourceEdits.push({ start: 0, end: 0, text: `${COMPLETION} = (` });
    sourceEdits.push({ start: source.length, end: source.length, text: '\n)' });
  } else {
    const tsFile = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    hasResult = completionEdits(ts, tsFile, tsFile.statements, sourceEdits);
  }
  const edited = applyEdits(source, sourceEdits, 0);
  let js: string;
  let sourceMap: string;
  try {
    const out = transformSync(edited.text, {
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
    const line = first.location?.line ?? 1;
    const column = unshiftColumn(edited.shifts, line, first.location?.column ?? 0);
    throw new CellSyntaxError(first.text, line, column);
  }
  const sf = ts.createSourceFile(fileName + '.js', js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits: Edit[] = [];
  const declared = new Set<string>();
  const functions: string[] = [];
  const statements = sf.statements;

  for (const stmt of statements) {
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
    }
  }

  const names = [...declared];
  const head = names.length > 0 ? `var ${names.join(', ')}; ` : '';
  const publish = functions.map((f) => `globalThis.${f} = ${f}; `).join('');
  const local = hasResult ? `let ${COMPLETION}; ` : '';
  const prefix = `${head}(async () => { ${local}${publish}`;
  const { text: body, shifts } = applyEdits(js, edits, prefix.length);
  const ret = hasResult ? `return ${COMPLETION}; ` : '';
  const script = `${prefix}${body.replace(/\n$/, '')}\n${ret}})()`;
  shifts.unshift([1, prefix.length, prefix.length]);
  return { script, sourceMap, declared: names, hasResult, shifts, sourceShifts: edited.shifts };
}

/** A column (0-based) in edited text, moved back to where it was before `shifts` were made. */
export function unshiftColumn(shifts: readonly ColumnShift[], line: number, column: number): number {
  for (let i = shifts.length - 1; i >= 0; i--) {
    const [l, c, delta] = shifts[i]!;
    if (l === line && column >= c) column -= delta;
  }
  return column;
}

/**
 * Adds the edits of Note [completion value] for a statement list; true when some statement in it
 * can complete with a value (the cell then returns COMPLETION).
 */
function completionEdits(ts: Ts, sf: TS.SourceFile, statements: readonly TS.Statement[], edits: Edit[]): boolean {
  let any = false;
  const assign = (expr: TS.Expression): void => {
    any = true;
    // Parenthesised so a comma expression or a newline inside it stays one value.
    edits.push({ start: expr.getStart(sf), end: expr.getStart(sf), text: `${COMPLETION} = (` });
    edits.push({ start: expr.end, end: expr.end, text: ')' });
  };
  const reset = `${COMPLETION} = void 0; `;
  // Sets COMPLETION to undefined as `stmt` starts; a statement that is a loop's or an if's whole
  // body gets braces, so the reset stays inside that body. Call what it returns once the
  // statement's own edits are pushed (the closing brace goes after them).
  const resetBefore = (stmt: TS.Statement): (() => void) => {
    any = true;
    let outer: TS.Node = stmt;
    while (ts.isLabeledStatement(outer.parent)) outer = outer.parent;
    const at = outer.getStart(sf);
    const p = outer.parent;
    const inList = ts.isSourceFile(p) || ts.isBlock(p) || ts.isCaseClause(p) || ts.isDefaultClause(p);
    edits.push({ start: at, end: at, text: inList ? reset : `{${reset}` });
    return () => {
      if (!inList) edits.push({ start: outer.end, end: outer.end, text: '}' });
    };
  };
  const visit = (stmt: TS.Statement): void => {
    if (ts.isExpressionStatement(stmt)) assign(stmt.expression);
    else if (ts.isExportAssignment(stmt)) assign(stmt.expression);
    else if (ts.isBlock(stmt)) stmt.statements.forEach(visit);
    else if (ts.isLabeledStatement(stmt)) visit(stmt.statement);
    else if (ts.isIfStatement(stmt)) {
      const close = resetBefore(stmt);
      visit(stmt.thenStatement);
      if (stmt.elseStatement) visit(stmt.elseStatement);
      close();
    } else if (ts.isIterationStatement(stmt, false) || ts.isWithStatement(stmt)) {
      const close = resetBefore(stmt);
      visit(stmt.statement);
      close();
    } else if (ts.isSwitchStatement(stmt)) {
      const close = resetBefore(stmt);
      for (const clause of stmt.caseBlock.clauses) clause.statements.forEach(visit);
      close();
    } else if (ts.isTryStatement(stmt)) {
      const close = resetBefore(stmt);
      visit(stmt.tryBlock);
      const handler = stmt.catchClause?.block;
      if (handler) {
        const at = handler.getStart(sf) + 1;
        edits.push({ start: at, end: at, text: ` ${reset}` });
        visit(handler);
      }
      close();
    }
  };
  statements.forEach(visit);
  return any;
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
  // Stable sort: insertions at one position keep the order they were pushed in, and come before a
  // replacement that starts there (which would otherwise swallow them).
  const inserts = (e: Edit) => (e.start === e.end ? 0 : 1);
  const sorted = edits
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => a.start - b.start || inserts(a) - inserts(b) || a.i - b.i);
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

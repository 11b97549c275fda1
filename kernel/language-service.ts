// Completion, inspection and %typecheck from one TypeScript language service that knows every
// cell run so far. See Note [cells as modules].
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TS from 'typescript';
import type { MimeBundle } from './protocol.js';

/**
 * Note [cells as modules]
 * Each cell that ran is a virtual module `__gradbook_cellN.ts` (in the notebook's folder) ending in `export { every name it declares }`.
 * The code being completed or checked starts with one header line importing, for each name
 * declared earlier, the *last* cell that declared it (names the code declares itself are left
 * out). So re-declaring `const x` in a later cell is not a redeclaration error, types and
 * const-ness carry over, and positions in the code are its own, shifted by the header's length.
 */

export interface CompletionType {
  start: number;
  end: number;
  text: string;
  type: string;
  signature?: string;
}

export interface Completion {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
  types: CompletionType[];
}

export interface Inspection {
  found: boolean;
  data: MimeBundle;
}

const GLOBALS = `
declare function display(value: unknown, options?: { displayId?: string }): { displayId: string; update(value: unknown): void };
declare function clearOutput(options?: { wait?: boolean }): void;
declare function input(prompt?: string): Promise<string>;
declare function password(prompt?: string): Promise<string>;
`;

const DETAILED_ENTRIES = 5;

export class CellLanguageService {
  readonly #ts: typeof TS;
  readonly #dir: string;
  readonly #files = new Map<string, { text: string; version: number }>();
  readonly #diskSnapshots = new Map<string, TS.IScriptSnapshot | undefined>();
  /** name → file of the last cell that declared it. */
  readonly #owners = new Map<string, string>();
  readonly #service: TS.LanguageService;
  #cells = 0;
  #lastMembers: { key: string; types: Map<string, string> } | undefined;

  constructor(ts: typeof TS, cwd: string) {
    this.#ts = ts;
    // The virtual files sit in the notebook's folder itself, so that a cell's relative import
    // (`./helpers.ts`) resolves as it does when the cell runs.
    this.#dir = cwd;
    const kernelModules = dirname(dirname(dirname(createRequire(import.meta.url).resolve('typescript'))));
    const options: TS.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
      types: ['node'],
      typeRoots: [join(cwd, 'node_modules', '@types'), join(kernelModules, '@types')],
    };
    this.#setFile(join(this.#dir, '__gradbook_globals.d.ts'), GLOBALS);
    const sys = ts.sys;
    const host: TS.LanguageServiceHost = {
      getCompilationSettings: () => options,
      getScriptFileNames: () => [...this.#files.keys()],
      getScriptVersion: (f) => String(this.#files.get(f)?.version ?? 0),
      getScriptSnapshot: (f) => {
        const virtual = this.#files.get(f);
        if (virtual) return ts.ScriptSnapshot.fromString(virtual.text);
        if (!this.#diskSnapshots.has(f)) {
          const text = sys.readFile(f);
          this.#diskSnapshots.set(f, text === undefined ? undefined : ts.ScriptSnapshot.fromString(text));
        }
        return this.#diskSnapshots.get(f);
      },
      getCurrentDirectory: () => cwd,
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: (f) => this.#files.has(f) || sys.fileExists(f),
      readFile: (f) => this.#files.get(f)?.text ?? sys.readFile(f),
      readDirectory: sys.readDirectory,
      directoryExists: (d) => d === this.#dir || sys.directoryExists(d),
      getDirectories: sys.getDirectories,
    };
    this.#service = ts.createLanguageService(host, ts.createDocumentRegistry());
  }

  /** Records a cell that ran, so later completions and checks see its declarations. */
  addCell(code: string): void {
    const file = join(this.#dir, `__gradbook_cell${++this.#cells}.ts`);
    const declared = this.#declaredNames(code);
    const { header } = this.#header(declared);
    const exportList = `\nexport { ${declared.join(', ')} };\n`;
    this.#setFile(file, header + code + exportList);
    for (const name of declared) this.#owners.set(name, file);
  }

  complete(code: string, cursor: number): Completion {
    let start = cursor;
    while (start > 0 && /[\w$]/.test(code[start - 1]!)) start--;
    const prefix = code.slice(start, cursor).toLowerCase();
    const { file, offset } = this.#pending(code);
    const info = this.#service.getCompletionsAtPosition(file, offset + cursor, {});
    const entries = (info?.entries ?? [])
      .filter((e) => e.name.toLowerCase().startsWith(prefix))
      .sort((a, b) => a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name));
    // Member types come from one checker walk; per-entry details cost a few ms each (every call
    // recomputes the completion list), so only short non-member lists get them.
    const memberTypes = this.#memberTypes(file, offset + start, new Set(entries.map((e) => e.name)));
    const detailed = memberTypes ? 0 : entries.length <= DETAILED_ENTRIES ? entries.length : 0;
    const types = entries.map((e, i): CompletionType => {
      const t: CompletionType = { start, end: cursor, text: e.name, type: e.kind };
      const memberType = memberTypes?.get(e.name);
      if (memberType) t.signature = memberType;
      else if (i < detailed) {
        const details = this.#service.getCompletionEntryDetails(
          file,
          offset + cursor,
          e.name,
          {},
          e.source,
          {},
          e.data,
        );
        if (details) t.signature = this.#ts.displayPartsToString(details.displayParts);
      }
      return t;
    });
    return { matches: entries.map((e) => e.name), cursorStart: start, cursorEnd: cursor, types };
  }

  inspect(code: string, cursor: number, detail: 0 | 1): Inspection {
    const { file, offset } = this.#pending(code);
    const ts = this.#ts;
    const info =
      this.#service.getQuickInfoAtPosition(file, offset + cursor) ??
      (cursor > 0 ? this.#service.getQuickInfoAtPosition(file, offset + cursor - 1) : undefined);
    if (!info) return { found: false, data: {} };
    // Earlier cells' names reach the code through the header's imports; say what they are, not that.
    const signature = ts
      .displayPartsToString(info.displayParts)
      .replace(/^\(alias\) /, '')
      .replace(/\nimport [\w$]+$/, '');
    const doc = ts.displayPartsToString(info.documentation);
    const tags = (detail === 1 ? (info.tags ?? []) : []).map((t) =>
      `@${t.name} ${ts.displayPartsToString(t.text)}`.trim(),
    );
    const plain = [signature, doc, ...tags].filter((s) => s !== '').join('\n\n');
    const markdown = ['```typescript\n' + signature + '\n```', doc, ...tags]
      .filter((s) => s !== '')
      .join('\n\n');
    return { found: true, data: { 'text/plain': plain, 'text/markdown': markdown } };
  }

  /** For `expr.|`: each member of expr's type with its type as a string, else undefined. */
  #memberTypes(file: string, wordStart: number, names: Set<string>): Map<string, string> | undefined {
    const ts = this.#ts;
    const program = this.#service.getProgram();
    const sf = program?.getSourceFile(file);
    if (!program || !sf || sf.text[wordStart - 1] !== '.') return undefined;
    // Typing a member name after the dot asks again for the same expression: reuse the answer.
    const key = `${wordStart}\0${sf.text.slice(0, wordStart)}`;
    const last = this.#lastMembers;
    if (last?.key === key && [...names].every((n) => last.types.has(n))) return last.types;
    let access: TS.PropertyAccessExpression | undefined;
    const visit = (node: TS.Node): void => {
      if (access || node.pos > wordStart || node.end < wordStart - 1) return;
      if (
        ts.isPropertyAccessExpression(node) &&
        node.expression.end <= wordStart - 1 &&
        node.name.pos >= wordStart - 1
      ) {
        access = node;
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
    if (!access) return undefined;
    const checker = program.getTypeChecker();
    const target = access.expression;
    const type = checker.getApparentType(checker.getTypeAtLocation(target));
    const out = new Map<string, string>();
    for (const prop of checker.getPropertiesOfType(type)) {
      if (!names.has(prop.name)) continue;
      const propType = checker.getTypeOfSymbolAtLocation(prop, target);
      out.set(prop.name, `${prop.name}: ${checker.typeToString(propType, target)}`);
    }
    if (names.size === out.size) this.#lastMembers = { key, types: out };
    return out;
  }

  /** Type errors in `code` against all earlier cells, as "line:col - message" lines. */
  check(code: string): string[] {
    const { file, offset } = this.#pending(code);
    const diagnostics = [
      ...this.#service.getSyntacticDiagnostics(file),
      ...this.#service.getSemanticDiagnostics(file),
    ].filter(
      (d) => d.category === this.#ts.DiagnosticCategory.Error && d.start !== undefined && d.start >= offset,
    );
    return diagnostics.map((d) => {
      const at = d.start! - offset;
      const before = code.slice(0, at).split('\n');
      const message = this.#ts.flattenDiagnosticMessageText(d.messageText, '\n');
      return `${before.length}:${before[before.length - 1]!.length + 1} - error TS${d.code}: ${message}`;
    });
  }

  #pending(code: string): { file: string; offset: number } {
    const { header } = this.#header(this.#declaredNames(code));
    const file = join(this.#dir, '__gradbook_pending.ts');
    this.#setFile(file, header + code + '\nexport {};\n');
    return { file, offset: header.length };
  }

  #header(declaredHere: string[]): { header: string } {
    const skip = new Set(declaredHere);
    const byFile = new Map<string, string[]>();
    for (const [name, file] of this.#owners) {
      if (skip.has(name)) continue;
      const names = byFile.get(file) ?? [];
      names.push(name);
      byFile.set(file, names);
    }
    const imports = [...byFile].map(([file, names]) => {
      const module = './' + file.slice(this.#dir.length + 1).replace(/\.ts$/, '.js');
      return `import { ${names.join(', ')} } from '${module}';`;
    });
    return { header: imports.join(' ') + '\n' };
  }

  #setFile(file: string, text: string): void {
    const old = this.#files.get(file);
    // An unchanged version lets the service keep its program and checker (tens of ms to rebuild).
    if (old?.text === text) return;
    this.#files.set(file, { text, version: (old?.version ?? 0) + 1 });
  }

  #declaredNames(code: string): string[] {
    const ts = this.#ts;
    const sf = ts.createSourceFile('names.ts', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
    const names = new Set<string>();
    const addBinding = (n: TS.BindingName): void => {
      if (ts.isIdentifier(n)) names.add(n.text);
      else for (const el of n.elements) if (ts.isBindingElement(el)) addBinding(el.name);
    };
    for (const s of sf.statements) {
      if (ts.isVariableStatement(s)) for (const d of s.declarationList.declarations) addBinding(d.name);
      else if (
        (ts.isFunctionDeclaration(s) ||
          ts.isClassDeclaration(s) ||
          ts.isInterfaceDeclaration(s) ||
          ts.isTypeAliasDeclaration(s) ||
          ts.isEnumDeclaration(s)) &&
        s.name
      ) {
        names.add(s.name.text);
      } else if (ts.isModuleDeclaration(s) && ts.isIdentifier(s.name)) names.add(s.name.text);
      else if (ts.isImportDeclaration(s) && s.importClause) {
        const c = s.importClause;
        if (c.name) names.add(c.name.text);
        const b = c.namedBindings;
        if (b && ts.isNamespaceImport(b)) names.add(b.name.text);
        else for (const el of b?.elements ?? []) names.add(el.name.text);
      }
    }
    return [...names];
  }
}

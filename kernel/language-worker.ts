// The language thread: owns the TypeScript language service. See Note [language thread] in
// language-client.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { answer, loadTypescript, type FromLanguage, type ToLanguage } from './language-client.js';
import { CellLanguageService } from './language-service.js';

const port = parentPort!;
const data = workerData as { cells: string[] };

async function load(): Promise<CellLanguageService> {
  const ls = new CellLanguageService(await loadTypescript(), process.cwd());
  for (const code of data.cells) ls.addCell(code);
  // The first question builds the program over the lib files and @types/node (most of the cost):
  // ask one now, so the person's first completion is answered at warm speed.
  ls.complete('Math.', 5);
  return ls;
}

// One chain keeps messages in the order they were sent: a cell always reaches the service before
// a request that came after it.
let chain: Promise<CellLanguageService> = load();
port.on('message', (m: ToLanguage) => {
  chain = chain.then((ls) => {
    if (m.kind === 'cell') {
      ls.addCell(m.code);
      return ls;
    }
    let reply: FromLanguage;
    try {
      reply = { kind: 'reply', id: m.id, ok: true, value: answer(ls, m.method, m.args) };
    } catch (err) {
      reply = { kind: 'reply', id: m.id, ok: false, message: (err as Error).message };
    }
    port.postMessage(reply);
    return ls;
  });
  // A service that failed to load answers each request with why, instead of never.
  chain.catch((err: Error) => {
    if (m.kind === 'request') port.postMessage({ kind: 'reply', id: m.id, ok: false, message: err.message } satisfies FromLanguage);
  });
});

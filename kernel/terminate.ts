// Stops JavaScript spinning on the main thread, from a worker: V8's terminateExecution through an
// inspector session. Used only after SIGINT failed (a loop after an `await` runs outside vm's
// breakOnSigint). The session is opened just for this and closed at once: an open session makes
// the process print "Waiting for the debugger to disconnect..." when it exits.
// Note [no AsyncLocalStorage] in cell-io.ts says why nothing on the main thread may enable async
// hooks: with them on, a termination aborts the process.
import { Session } from 'node:inspector';

export function terminateMainThread(then: () => void): void {
  const session = new Session();
  session.connectToMainThread();
  session.post('Runtime.terminateExecution', () => {
    session.disconnect();
    then();
  });
}

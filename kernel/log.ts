import { writeSync } from 'node:fs';

/**
 * The kernel's own diagnostics go straight to fd 2: process.stderr.write is routed to cells while
 * user code runs, and a worker's console is relayed through the main thread's event loop, which a
 * busy cell blocks.
 */
export function log(message: string): void {
  try {
    writeSync(2, `[gradbook ${new Date().toISOString()}] ${message}\n`);
  } catch {
    // stderr closed (the front end went away): nothing useful left to do with the line.
  }
}

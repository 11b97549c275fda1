/**
 * The one door every primitive op passes: interrupt check, device check, the backend call, the
 * tape, and observers (profiler, graph debugger, anomaly mode). With no observer attached the
 * extra cost is one array-length test.
 */
import { Node, type BackwardFn } from './autograd/node.js';
import { gradMode } from './autograd/mode.js';
import type { PrimitiveOp } from './ops.js';
import type { Tensor } from './tensor.js';

export interface PrimDef<A> {
  readonly op: PrimitiveOp;
  /** PyTorch's name for the backward node, e.g. 'MulBackward0'. */
  readonly gradName: string;
  forward(inputs: readonly Tensor[], attrs: A): Tensor;
  /** Tensors the backward needs; called only when the graph is recorded. */
  save?(inputs: readonly Tensor[], out: Tensor, attrs: A): Tensor[];
  readonly backward: BackwardFn<A> | null;
}

export interface OpEvent {
  readonly op: PrimitiveOp;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: unknown;
  /** Dotted path of the module running the op, e.g. 'encoder.fc1'; '' outside modules. */
  readonly modulePath: string;
  readonly start: number;
  readonly end: number;
  /** Bytes of the output's storage. */
  readonly bytes: number;
  /** Where in user code the op was called, computed only when asked for. */
  location(): string | undefined;
}

export type Observer = (event: OpEvent) => void;

const observers: Observer[] = [];

/** Subscribes to every op; returns the function that unsubscribes. */
export function addObserver(fn: Observer): () => void {
  observers.push(fn);
  return () => {
    const i = observers.indexOf(fn);
    if (i >= 0) observers.splice(i, 1);
  };
}

/** Whether anything observes ops (they may hold on to the tensors they see). */
export function hasObservers(): boolean {
  return observers.length !== 0;
}

const moduleStack: string[] = [];

/** Runs fn with `name` as the current module path (nn.Module.call uses this). */
export function withModule<T>(name: string, fn: () => T): T {
  moduleStack.push(name);
  try {
    return fn();
  } finally {
    moduleStack.pop();
  }
}

export function currentModulePath(): string {
  return moduleStack.length ? moduleStack[moduleStack.length - 1] : '';
}

export class Interrupted extends Error {
  constructor(op: string) {
    super(`Interrupted before op ${op}`);
    this.name = 'Interrupted';
  }
}

const INTERRUPT = Symbol.for('gradbook.interrupt');

export function dispatch<A>(def: PrimDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  // The kernel raises this flag on interrupt, so an awaiting loop stops at its next op.
  const flag = (globalThis as Record<symbol, Int32Array | undefined>)[INTERRUPT];
  if (flag !== undefined && flag[0] !== 0) {
    flag[0] = 0;
    throw new Interrupted(def.op);
  }
  if (inputs.length > 1) checkSameDevice(def.op, inputs);
  const observed = observers.length !== 0;
  const start = observed ? performance.now() : 0;
  const out = def.forward(inputs, attrs);
  if (gradMode.enabled && def.backward !== null) {
    let needsGrad = false;
    for (let i = 0; i < inputs.length; i++) {
      if (inputs[i]._requiresGrad) {
        needsGrad = true;
        break;
      }
    }
    if (needsGrad) record(def, inputs, attrs, out);
  }
  if (observed) notify(def.op, inputs, out, attrs, start);
  return out;
}

function record<A>(def: PrimDef<A>, inputs: readonly Tensor[], attrs: A, out: Tensor): void {
  const next = new Array<Node | null>(inputs.length);
  const shapes = new Array<readonly number[]>(inputs.length);
  const dtypes = new Array<string>(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    next[i] = inputs[i]._gradEdge();
    shapes[i] = inputs[i].shape;
    dtypes[i] = inputs[i].dtype;
  }
  const saved = def.save ? def.save(inputs, out, attrs) : [];
  out._gradFn = new Node(def.gradName, def.backward, next, attrs, shapes, dtypes, saved);
  out._requiresGrad = true;
}

function notify(op: PrimitiveOp, inputs: readonly Tensor[], output: Tensor, attrs: unknown, start: number): void {
  const end = performance.now();
  // The Error's frames are captured now and formatted only if location() is called: formatting
  // every op's stack doubled the cost of an observed training step. A deep module stack puts
  // the user's frame past V8's default ten.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const site = new Error();
  Error.stackTraceLimit = limit;
  const event: OpEvent = {
    op,
    inputs,
    output,
    attrs,
    modulePath: currentModulePath(),
    start,
    end,
    bytes: output.storage.buf.nbytes,
    location: () => userFrame(site.stack),
  };
  for (const fn of observers.slice()) fn(event);
}

/** The first stack frame outside the runtime. */
function userFrame(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  for (const line of stack.split('\n').slice(1)) {
    if (!/[/\\]runtime[/\\]/.test(line) && !line.includes('node:internal')) return line.trim().replace(/^at /, '');
  }
  return undefined;
}

function checkSameDevice(op: string, inputs: readonly Tensor[]): void {
  const s0 = inputs[0].storage;
  for (let i = 1; i < inputs.length; i++) {
    const s = inputs[i].storage;
    if (s.device !== s0.device) {
      throw new Error(
        `${op}: Expected all tensors to be on the same device, but found at least two devices, ${s0.device} and ${s.device}!`,
      );
    }
    if (s.backend !== s0.backend) {
      throw new Error(
        `${op}: tensors come from different backends on ${s0.device} (${s0.backend.name} and ${s.backend.name}); ` +
          'create them under the same cpuBackend flag',
      );
    }
  }
}

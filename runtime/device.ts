/** Device names and the backend that serves each. */
import { backendFor, type Backend } from './backend.js';
import { referenceBackend } from './backends/reference/index.js';
import { cpuBackend } from './backends/cpu/index.js';
import { flags } from './flags.js';

export type Device = 'cpu' | `cuda:${number}`;
export type DeviceLike = 'cpu' | 'cuda' | `cuda:${number}` | string;

export function parseDevice(d: DeviceLike, where = 'device'): Device {
  if (d === 'cpu') return 'cpu';
  if (d === 'cuda') return 'cuda:0';
  const m = /^cuda:(\d+)$/.exec(d);
  if (m) return `cuda:${Number(m[1])}`;
  throw new TypeError(`${where}: Expected one of cpu, cuda device type at start of device string: ${d}`);
}

export function isDeviceString(x: unknown): x is DeviceLike {
  return typeof x === 'string' && (x === 'cpu' || x === 'cuda' || /^cuda:\d+$/.test(x));
}

let warnedNoNative = false;

export function backendForDevice(device: Device): Backend {
  if (device === 'cpu') {
    if (flags.cpuBackend === 'native') {
      if (cpuBackend) return cpuBackend;
      if (!warnedNoNative) {
        warnedNoNative = true;
        process.emitWarning('gradbook: the native CPU backend is not built; using the slower TypeScript reference backend');
      }
    }
    return referenceBackend;
  }
  const b = backendFor('cuda');
  if (!b) {
    throw new Error(`${device}: CUDA is not available (no CUDA backend is loaded on this machine)`);
  }
  return b;
}

// Jupyter comms: a two-way channel between the front end and code in the kernel (widgets, the
// later graph debugger). Code in a cell reaches it through globalThis[Symbol.for('gradbook.comms')].
import { randomUUID } from 'node:crypto';

export interface Comm {
  readonly id: string;
  readonly targetName: string;
  send(data: unknown): void;
  close(data?: unknown): void;
  onMessage?: (data: unknown) => void;
  onClose?: (data: unknown) => void;
}

export type CommTarget = (comm: Comm, data: unknown) => void;

/** How comm messages leave the kernel (on iopub, with the current request as parent). */
export type CommSend = (
  msgType: 'comm_open' | 'comm_msg' | 'comm_close',
  content: Record<string, unknown>,
) => void;

export const COMMS_KEY = Symbol.for('gradbook.comms');

export class CommManager {
  readonly #targets = new Map<string, CommTarget>();
  readonly #comms = new Map<string, Comm>();

  constructor(readonly send: CommSend) {}

  registerTarget(name: string, target: CommTarget): void {
    this.#targets.set(name, target);
  }

  /** Opens a comm from the kernel side. */
  open(targetName: string, data: unknown = {}): Comm {
    const comm = this.#make(randomUUID(), targetName);
    this.send('comm_open', { comm_id: comm.id, target_name: targetName, data });
    return comm;
  }

  /** The front end opened a comm; an unknown target gets it closed right away, as ipykernel does. */
  handleOpen(content: { comm_id?: unknown; target_name?: unknown; data?: unknown }): void {
    const id = String(content.comm_id ?? '');
    const targetName = String(content.target_name ?? '');
    const target = this.#targets.get(targetName);
    if (!id) return;
    if (!target) {
      this.send('comm_close', { comm_id: id, data: {} });
      return;
    }
    target(this.#make(id, targetName), content.data);
  }

  handleMessage(content: { comm_id?: unknown; data?: unknown }): void {
    this.#comms.get(String(content.comm_id))?.onMessage?.(content.data);
  }

  handleClose(content: { comm_id?: unknown; data?: unknown }): void {
    const comm = this.#comms.get(String(content.comm_id));
    if (!comm) return;
    this.#comms.delete(comm.id);
    comm.onClose?.(content.data);
  }

  info(targetName?: string): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const c of this.#comms.values()) {
      if (!targetName || c.targetName === targetName) out[c.id] = { target_name: c.targetName };
    }
    return out;
  }

  #make(id: string, targetName: string): Comm {
    const comm: Comm = {
      id,
      targetName,
      send: (data) => this.send('comm_msg', { comm_id: id, data }),
      close: (data = {}) => {
        if (!this.#comms.delete(id)) return;
        this.send('comm_close', { comm_id: id, data });
      },
    };
    this.#comms.set(id, comm);
    return comm;
  }
}

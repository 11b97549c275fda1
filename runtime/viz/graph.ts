// gb.viz.graph: a tensor's backward graph (what backward() would walk) as a picture laid out by
// Graphviz, and as a text listing for terminals. It reads the recorded nodes only: it computes
// nothing, records nothing and frees nothing, so it can be shown before or after backward.
import { Tensor } from '../tensor.js';
import { Module } from '../nn/module.js';
import { AccumulateGrad, type Node } from '../autograd/node.js';
import { View, VizArgumentError, escapeHtml, type MimeBundle } from './common.js';
import { toDot } from './graph-dot.js';
import { graphviz, renderSvg, whyNotReady } from './graph-layout.js';

const CALL = 'gb.viz.graph';
const DEFAULT_MAX_NODES = 1000;
/** Nodes listed in text/plain; a terminal shows no more than this usefully. */
const MAX_LISTED = 80;

export interface GraphOptions {
  /** Names leaves by the module's parameter paths ('fc1.weight'). */
  module?: Module;
  /** Nodes drawn at most, nearest the output first; default 1000. */
  maxNodes?: number;
}

export interface GraphNode {
  /** 0 is the output tensor; the rest in breadth-first order from it. */
  id: number;
  /** 'op': a backward node; 'leaf': a tensor gradients accumulate into; 'tensor': the output. */
  kind: 'op' | 'leaf' | 'tensor';
  /** The grad_fn's name ('MulBackward0'), a leaf's parameter name, or '' (shape only). */
  label: string;
  /** The shape the node outputs, as '[2, 3]'. */
  shape: string;
  /** Whether some of its inputs were left out by maxNodes. */
  truncated: boolean;
}

/** An edge in the forward direction: the tensor `from` makes flows into `to`. */
export interface GraphEdge {
  from: number;
  to: number;
}

/** gb.viz.graph's result: the walked graph, its DOT source and, on display, its SVG. */
export class GraphView extends View {
  /** How many nodes the whole graph has (output included); `nodes` holds at most maxNodes. */
  readonly totalNodes: number;
  readonly dot: string;
  private svgCache: string | null = null;

  constructor(
    readonly nodes: readonly GraphNode[],
    readonly edges: readonly GraphEdge[],
    totalNodes: number,
    /** Why there is no graph (a leaf, or a tensor that records nothing); null when there is. */
    readonly message: string | null,
    private readonly maxNodes: number,
  ) {
    super();
    this.totalNodes = totalNodes;
    this.dot = message === null ? toDot(nodes, edges, { note: this.note() ?? undefined }) : '';
  }

  /** Nodes maxNodes left out. */
  get omitted(): number {
    return this.totalNodes - this.nodes.length;
  }

  private note(): string | null {
    if (this.omitted === 0) return null;
    return `${this.omitted} of ${this.totalNodes} nodes not drawn (maxNodes: ${this.maxNodes}); dashed nodes have inputs left out`;
  }

  /** The laid-out SVG (computed on first use and kept); null while Graphviz is not loaded. */
  svg(): string | null {
    if (this.message !== null) return null;
    if (this.svgCache === null) {
      const viz = graphviz();
      if (viz === null) return null;
      this.svgCache = renderSvg(viz, this.dot);
    }
    return this.svgCache;
  }

  /** The text listing: one line per node with the nodes feeding it, bounded. */
  text(): string {
    if (this.message !== null) return this.message;
    const inputs = new Map<number, number[]>();
    for (const e of this.edges) {
      const list = inputs.get(e.to);
      if (list) list.push(e.from);
      else inputs.set(e.to, [e.from]);
    }
    const root = this.nodes[0];
    const lines = [`backward graph of a tensor ${root.shape}: ${this.totalNodes} nodes, ${this.edges.length} edges drawn`];
    const shown = this.nodes.slice(0, MAX_LISTED);
    const heads = shown.map((n) => {
      const what = n.kind === 'tensor' ? 'output' : n.kind === 'leaf' ? `${n.label ? `${n.label} ` : ''}(leaf)` : n.label;
      return `#${n.id} ${what} ${n.shape}`;
    });
    const width = Math.min(60, Math.max(...heads.map((h) => h.length)));
    shown.forEach((n, i) => {
      const from = inputs.get(n.id);
      const more = n.truncated ? ' …' : '';
      lines.push(`  ${from || more ? heads[i].padEnd(width) : heads[i]}${from ? ` <- ${from.map((f) => `#${f}`).join(', ')}` : ''}${more}`);
    });
    if (this.nodes.length > shown.length) lines.push(`  … ${this.nodes.length - shown.length} more nodes listed in the picture`);
    const note = this.note();
    if (note) lines.push(note);
    return lines.join('\n');
  }

  bundle(): MimeBundle {
    const text = this.text();
    if (this.message !== null) {
      return { 'text/plain': text, 'text/html': `<div class="gb-graph" style="color:#555;font-style:italic">${escapeHtml(text)}</div>` };
    }
    const svg = this.svg();
    if (svg === null) {
      return { 'text/plain': `${text}\n(${whyNotReady()})`, 'text/html': `<pre>${escapeHtml(text)}</pre><p>${escapeHtml(whyNotReady())}</p>` };
    }
    const note = this.note();
    const caption = note ? `<div style="color:#666;font-size:11px">${escapeHtml(note)}</div>` : '';
    return {
      'text/plain': text,
      'image/svg+xml': svg,
      'text/html': `<div class="gb-graph" style="max-width:100%;max-height:900px;overflow:auto">${svg}</div>${caption}`,
    };
  }
}

/**
 * The backward graph of `t`: its grad_fn and everything it reaches, down to the leaves'
 * AccumulateGrad nodes, drawn with the output at the bottom as torchviz draws it.
 */
export function graph(t: Tensor, opts: GraphOptions = {}): GraphView {
  if (!(t instanceof Tensor)) throw new VizArgumentError(CALL, 'the tensor', 'a Tensor', t);
  if (opts === null || typeof opts !== 'object') throw new VizArgumentError(CALL, 'opts', 'an object', opts);
  if (opts.module !== undefined && !(opts.module instanceof Module)) {
    throw new VizArgumentError(CALL, 'opts.module', 'an nn.Module', opts.module);
  }
  const maxNodes = opts.maxNodes ?? DEFAULT_MAX_NODES;
  if (!Number.isInteger(maxNodes) || maxNodes < 1) throw new VizArgumentError(CALL, 'opts.maxNodes', 'a positive integer', maxNodes);
  const root = t.gradFn;
  if (root === null) {
    const message = t.requiresGrad
      ? `${CALL}: this tensor ${shapeText(t.shape)} is a leaf (it requires grad but has no grad_fn), so there is no backward graph to draw; graph a result computed from it, such as a loss`
      : `${CALL}: this tensor ${shapeText(t.shape)} does not require grad, so no backward graph was recorded (it was made under gb.noGrad, detached, or from tensors that do not require grad)`;
    return new GraphView([], [], 0, message, maxNodes);
  }
  const names = new Map<Tensor, string>();
  if (opts.module) for (const [name, p] of opts.module.namedParameters()) names.set(p, name);
  return walk(t, root, names, maxNodes);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Breadth first from the output, so maxNodes keeps the part nearest it. Every reachable node is
 * still counted, to say how many were left out; a node's output shape is the shape its first
 * consumer recorded for that input (Node.inShapes), the output's is the tensor's own.
 */
function walk(t: Tensor, root: Node, names: Map<Tensor, string>, maxNodes: number): GraphView {
  const nodes: GraphNode[] = [{ id: 0, kind: 'tensor', label: '', shape: shapeText(t.shape), truncated: false }];
  const edges: GraphEdge[] = [];
  const ids = new Map<Node, number>();
  const queue: Node[] = [root];
  const describe = (n: Node, id: number, shape: readonly number[]): GraphNode => {
    if (n instanceof AccumulateGrad) {
      const v = n.variable;
      return { id, kind: 'leaf', label: names.get(v) ?? '', shape: shapeText(v.shape), truncated: false };
    }
    return { id, kind: 'op', label: n.name, shape: shapeText(shape), truncated: false };
  };
  ids.set(root, 1);
  if (maxNodes > 1) {
    nodes.push(describe(root, 1, t.shape));
    edges.push({ from: 1, to: 0 });
  } else nodes[0].truncated = true;
  for (let head = 0; head < queue.length; head++) {
    const n = queue[head];
    const id = ids.get(n)!;
    const drawn = id < maxNodes;
    for (let i = 0; i < n.next.length; i++) {
      const m = n.next[i];
      if (m === null) continue;
      let mid = ids.get(m);
      if (mid === undefined) {
        mid = ids.size + 1;
        ids.set(m, mid);
        queue.push(m);
        if (mid < maxNodes) nodes.push(describe(m, mid, n.inShapes[i]));
      }
      if (!drawn) continue;
      if (mid < maxNodes) edges.push({ from: mid, to: id });
      else nodes[id].truncated = true;
    }
  }
  return new GraphView(nodes, edges, ids.size + 1, null, maxNodes);
}

// The walked backward graph as Graphviz DOT, drawn as torchviz draws one: inputs on top, edges
// in the forward direction, the output at the bottom.
import type { GraphEdge, GraphNode } from './graph.js';

/**
 * A DOT double-quoted string. Only `"` and `\` are special inside one, but a backslash also
 * starts Graphviz's label escapes (`\N` is the node's name, `\l` a left-justified break), so both
 * are escaped and a label's own line breaks become spaces: the only `\n` in a label is ours.
 */
export function dotString(...lines: string[]): string {
  const escaped = lines.map((s) => s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' '));
  return `"${escaped.join('\\n')}"`;
}

const FILL: Record<GraphNode['kind'], string> = {
  op: '#e8e8e8',
  leaf: '#cde4f7',
  tensor: '#d6f5c8',
};

export interface DotOptions {
  /** A note drawn under the graph (how much maxNodes left out). */
  note?: string;
}

export function toDot(nodes: readonly GraphNode[], edges: readonly GraphEdge[], opts: DotOptions = {}): string {
  const lines = [
    'digraph backward {',
    '  graph [rankdir=TB, nodesep=0.15, ranksep=0.3, bgcolor="transparent"' +
      (opts.note ? `, label=${dotString(opts.note)}, labelloc=b, fontname="Helvetica", fontsize=11, fontcolor="#666666"` : '') +
      '];',
    `  node [shape=box, style="filled,rounded", fillcolor="${FILL.op}", color="#777777", fontname="Helvetica", fontsize=10, height=0.25, margin="0.08,0.03"];`,
    '  edge [color="#555555", arrowsize=0.5];',
  ];
  for (const n of nodes) {
    const text = [n.label, n.shape].filter((t): t is string => t !== null && t !== '');
    const attrs = [`label=${dotString(...text)}`];
    if (n.kind !== 'op') attrs.push(`fillcolor="${FILL[n.kind]}"`);
    if (n.truncated) attrs.push('style="filled,rounded,dashed"');
    lines.push(`  n${n.id} [${attrs.join(', ')}];`);
  }
  for (const e of edges) lines.push(`  n${e.from} -> n${e.to};`);
  lines.push('}');
  return lines.join('\n');
}

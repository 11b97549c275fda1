/**
 * gb.viz: views of tensors, modules, autograd graphs and training, as MIME bundles (see
 * common.ts for the conventions). Importing it makes tensors and modules display richly.
 */
import { setTensorDisplay } from '../tensor.js';
import { setModuleDisplay } from '../nn/module.js';
import { tensorBundle } from './tensor-view.js';
import { moduleBundle } from './summary.js';

setTensorDisplay(tensorBundle);
setModuleDisplay(moduleBundle);

export { View, VizArgumentError, frontend, FRONTEND } from './common.js';
export type { MimeBundle, Frontend } from './common.js';
export { tensorBundle } from './tensor-view.js';
export { term, termText } from './term.js';
export type { TermOptions } from './term.js';
export { summary, ModuleSummary } from './summary.js';
export { graph, GraphView } from './graph.js';
export { line, scatter, hist, heatmap, image, Figure } from './plot.js';
export { live, LiveView, progress, Progress } from './live.js';
export { encodePng } from './png.js';

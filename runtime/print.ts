/** Bridges tensors to the PyTorch-exact printer, with the print options from the flags. */
import type { Tensor } from './tensor.js';
import { formatTensor } from './format.js';
import { flags } from './flags.js';

export function formatTensorOf(t: Tensor): string {
  if (t.storage.freed) return `tensor(<freed storage>, size=(${t.shape.join(', ')}))`;
  return formatTensor(
    {
      shape: t.shape,
      dtype: t.dtype,
      device: t.device,
      values: t.storage.backend.read(t),
      requiresGrad: t.requiresGrad,
      gradFnName: t.gradFn?.name,
      defaultDtype: flags.defaultDtype,
    },
    {
      precision: flags.printPrecision,
      threshold: flags.printThreshold,
      edgeitems: flags.printEdgeitems,
      linewidth: flags.printLinewidth,
      sciMode: flags.printSciMode,
    },
  );
}

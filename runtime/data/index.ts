/** gb.data: datasets, the DataLoader, transforms and bundled data. */
export { TensorDataset, MapDataset, Subset } from './dataset.js';
export type { Dataset } from './dataset.js';
export { DataLoader, defaultCollate } from './loader.js';
export type { DataLoaderOptions } from './loader.js';
export { Normalize, normalize } from './transforms.js';
export * as transforms from './transforms.js';
export * as datasets from './datasets.js';

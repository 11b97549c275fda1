/** Reading and writing checkpoints (safetensors). */
export { save, load, loadMetadata } from './safetensors.js';
export type { SaveOptions, LoadOptions } from './safetensors.js';

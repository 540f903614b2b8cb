/**
 * The statistics for comparing a candidate model with production on one holdout, and the distribution
 * functions they rest on. Import from here rather than from the individual files.
 */
export * from './distributions';
export * from './ks';
export * from './bootstrap';
export * from './mcnemar';
export * from './delong';
export * from './noninferiority';
export * from './corrections';
export { sampleBinomial, sampleMultinomial, IndexSampler, BlockResampler } from './sampling';
export { sortedCopy } from './sort';

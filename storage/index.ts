/**
 * The storage layer's public entry: the artifact store (local filesystem and S3), dataset snapshots, the model
 * registry and the prediction log. Activities, workers, scripts and serving import from here.
 */
export * from './errors';
export * from './artifact-store';
export { LocalArtifactStore, type LocalArtifactStoreOptions } from './local-store';
export { S3ArtifactStore, ConditionalWrites, type S3ArtifactStoreOptions } from './s3-store';
export * from './open';
export * from './snapshots';
export * from './registry';
export * from './prediction-log';

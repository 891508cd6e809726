/** Internals shared between Duplex packages; not a public API, may change in any release. */
export { createTokenBucket, type TokenBucket, type TokenBucketOptions } from './tokenBucket';

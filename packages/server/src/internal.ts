/** Internals shared between Duplex packages; not a public API, may change in any release. */

export { type AsyncQueue, createAsyncQueue } from './asyncQueue';
export {
  createKeyedBuckets,
  createTokenBucket,
  type TokenBucket,
  type TokenBucketOptions,
} from './tokenBucket';
export {
  checkWsInternals,
  type WsInternalsCheck,
  wsInternalsCheck,
  wsInternalsRange,
} from './wsInternals';

/** Internals shared between Duplex packages; not a public API, may change in any release. */

export {
  createSuperjsonFastPath,
  isPlainJson,
  type SuperjsonFastPath,
  type SuperjsonModule,
} from './plainJson';

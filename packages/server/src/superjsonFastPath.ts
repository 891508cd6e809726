import {
  createSuperjsonFastPath,
  type SuperjsonFastPath,
  type SuperjsonModule,
} from '@duplex/protocol/internal';
import superjson from 'superjson';

/**
 * The plain-JSON fast path past superjson (see `@duplex/protocol`'s `plainJson.ts`), for the
 * superjson this package imports (the one `initDuplex` routers use); `null` when its startup
 * check failed or `DUPLEX_SUPERJSON_FAST_PATH=off`.
 */
export const superjsonFastPath: SuperjsonFastPath | null =
  process.env.DUPLEX_SUPERJSON_FAST_PATH === 'off'
    ? null
    : createSuperjsonFastPath(superjson as unknown as SuperjsonModule);

/**
 * The fast path for a router's transformer (`transformer.input` or `.output`): only superjson
 * itself takes it; any other transformer, or another copy of superjson, goes its own way.
 */
export function superjsonFastPathOf(transformer: unknown): SuperjsonFastPath | null {
  return transformer === superjson ? superjsonFastPath : null;
}

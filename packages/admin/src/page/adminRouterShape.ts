/**
 * The type the page's client is built on: an app router with the admin router mounted under
 * `admin`. The page is built once for every app, so it cannot import an app's router type; it
 * types the client against the admin procedures alone and finds them at run time under the key
 * it is configured with. Types only: nothing here reaches the bundle.
 */
import type { TRPCBuiltRouter } from '@trpc/server';
import type { AdminRouter } from '../adminRouter';

/** An app router with {@link AdminRouter} mounted under `admin`. */
export type MountedAdminRouter = TRPCBuiltRouter<
  AdminRouter['_def']['_config']['$types'],
  { admin: AdminRouter['_def']['record'] }
>;

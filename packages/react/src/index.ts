export type { ComposedDuplexClient, DuplexClientSource } from './clientHolder';
export {
  createDuplexReact,
  type DuplexProviderProps,
  type DuplexReact,
} from './createDuplexReact';
export { useConnectionStatus } from './useConnectionStatus';
export {
  type LiveQueryOptions,
  type LiveQueryResult,
  useLiveQuery,
} from './useLiveQuery';
export {
  type inferLiveEvent,
  type LiveSubscriptionHandlers,
  type LiveSubscriptionResult,
  type LiveSubscriptionStatus,
  type SubscriptionOptionsOut,
  useLiveSubscription,
} from './useLiveSubscription';
export { type OptimisticUpdate, useOptimisticMutation } from './useOptimisticMutation';

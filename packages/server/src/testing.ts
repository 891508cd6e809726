/**
 * Contract suites (vitest) for implementers of the `Broker` and `Presence` interfaces: run them
 * against an implementation to prove it behaves like the built-in ones.
 */
export { type BrokerSuiteOptions, brokerSuite, takeItems } from './brokerSuite';
export { presenceSuite } from './presenceSuite';

import { brokerSuite } from './brokerSuite';
import { createMemoryBroker } from './memoryBroker';

brokerSuite('createMemoryBroker', (opts) => createMemoryBroker(opts));

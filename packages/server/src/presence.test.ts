import { createMemoryPresence } from './presence';
import { presenceSuite } from './presenceSuite';

presenceSuite('createMemoryPresence', () => createMemoryPresence());

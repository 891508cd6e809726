import type { StatusStore } from '@duplex/client';
import { createContext } from 'react';

/** The status store of the nearest `DuplexProvider`; `null` outside one. */
export const StatusContext = createContext<StatusStore | null>(null);

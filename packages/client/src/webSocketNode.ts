import { WebSocket } from 'ws';
import type { WebSocketClass } from './trackSockets';

/** Node's `WebSocket`: `ws` (Node 20 has no global one). */
export const defaultWebSocket = WebSocket as unknown as WebSocketClass;

import { TRPCError } from '@trpc/server';

export const forbidden = (message: string) => new TRPCError({ code: 'FORBIDDEN', message });
export const notFound = (message: string) => new TRPCError({ code: 'NOT_FOUND', message });
/** The one answer for a room the caller is not in, whether it exists or not. */
export const noSuchRoom = () => notFound('No such room, or you have not joined it');
/** The one answer for a message in a room the caller is not in, whether it exists or not. */
export const noSuchMessage = () => notFound('No such message, or you have not joined its room');
export const badRequest = (message: string) => new TRPCError({ code: 'BAD_REQUEST', message });
export const conflict = (message: string) => new TRPCError({ code: 'CONFLICT', message });

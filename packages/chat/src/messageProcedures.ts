import { badRequest, forbidden, notFound } from './chatErrors';
import { type ChatKit, type ChatUser, roomChannel } from './chatKit';
import { editInput, historyInput, markReadInput, reactInput, sendInput } from './schemas';

/**
 * Messages of a room: `send`, `edit`, `delete`, `react`, `history`, `typing`, `markRead`.
 */
export function createMessageProcedures<TUser extends ChatUser>(kit: ChatKit<TUser>) {
  const { store, broker, limits, announcer, memberProcedure, messageProcedure } = kit;
  return {
    send: memberProcedure.input(sendInput).mutation(async ({ ctx, input }) => {
      const text = input.text?.trim() || null;
      if (text && text.length > limits.maxTextLength) {
        throw badRequest(`Message too long: at most ${limits.maxTextLength} characters`);
      }
      const attachmentIds = [...new Set(input.attachments ?? [])];
      if (attachmentIds.length > limits.maxAttachmentsPerMessage) {
        throw badRequest(`Too many attachments: at most ${limits.maxAttachmentsPerMessage}`);
      }
      const found = await store.getAttachments(attachmentIds);
      if (found.length !== attachmentIds.length || found.some((a) => a.ownerId !== ctx.user.id)) {
        throw badRequest('Unknown attachment: upload it first');
      }
      await kit.requireReplyTarget(input.roomId, input.replyTo);
      kit.takeSend(ctx.user.id);
      const { message, announced } = await store.appendMessage({
        roomId: input.roomId,
        authorId: ctx.user.id,
        authorName: ctx.member.name,
        clientMsgId: input.clientMsgId,
        text,
        attachmentIds,
        replyTo: input.replyTo ?? null,
      });
      // Not yet announced (new, or a first attempt failed or is in flight): at most once.
      if (!announced && (await kit.announceCreated(message))) {
        if (kit.onMessage) {
          const room = await store.getRoom(input.roomId);
          await kit.onMessage({ message, roomName: room?.name ?? '' });
        }
      }
      return message;
    }),

    edit: messageProcedure.input(editInput).mutation(async ({ ctx, input }) => {
      const { message } = ctx;
      if (message.authorId !== ctx.user.id) throw forbidden('Only the author can edit a message');
      if (input.text.length > limits.maxTextLength) {
        throw badRequest(`Message too long: at most ${limits.maxTextLength} characters`);
      }
      const edited = await store.editMessage(message.id, input.text);
      if (!edited) throw notFound('The message was deleted');
      await kit.publish(message.roomId, { type: 'message.edited', message: edited });
      return edited;
    }),

    delete: messageProcedure.mutation(async ({ ctx }) => {
      const { message, member } = ctx;
      if (message.authorId !== ctx.user.id && !kit.canModerate(member)) {
        throw forbidden('Only the author or a moderator can delete a message');
      }
      // Deleted already: announced still, once, in case the call that deleted it failed to.
      const deleted = (await store.deleteMessage(message.id))!;
      await announcer.announce(broker, {
        ref: { messageId: message.id, type: 'message.deleted' },
        channel: roomChannel(message.roomId),
        event: { type: 'message.deleted', message: deleted, deletedBy: ctx.user.id },
      });
      return deleted;
    }),

    react: messageProcedure.input(reactInput).mutation(async ({ ctx, input }) => {
      const { message } = ctx;
      const result = await store.toggleReaction(message.id, ctx.user.id, input.emoji);
      if (!result) throw notFound('The message was deleted');
      await kit.publish(message.roomId, {
        type: 'reaction',
        messageId: message.id,
        emoji: input.emoji,
        userId: ctx.user.id,
        added: result.added,
      });
      return result;
    }),

    history: memberProcedure
      .input(historyInput)
      .query(({ input }) =>
        store.history(input.roomId, { before: input.before, limit: input.limit }),
      ),

    typing: memberProcedure.mutation(async ({ ctx, input }) => {
      const expiresAt = new Date(Date.now() + limits.typingTtlMs);
      await kit.publish(input.roomId, {
        type: 'typing',
        userId: ctx.user.id,
        name: ctx.user.name,
        expiresAt,
      });
      return { expiresAt };
    }),

    markRead: memberProcedure.input(markReadInput).mutation(async ({ ctx, input }) => {
      const message = await store.getMessage(input.messageId);
      if (message?.roomId !== input.roomId) throw notFound('No such message in this room');
      const { moved } = await store.markRead(input.roomId, ctx.user.id, message.id);
      if (moved)
        await kit.publish(input.roomId, {
          type: 'receipt',
          userId: ctx.user.id,
          messageId: message.id,
        });
      return { moved };
    }),
  };
}

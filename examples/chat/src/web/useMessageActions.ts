import { useMutation } from '@tanstack/react-query';
import { useTRPC } from './client';
import { useReporter } from './report';

/** The calls a message's buttons make. */
export function useMessageActions() {
  const trpc = useTRPC();
  const { run } = useReporter();
  const edit = useMutation(trpc.chat.edit.mutationOptions());
  const react = useMutation(trpc.chat.react.mutationOptions());
  const remove = useMutation(trpc.chat.delete.mutationOptions());
  const cancel = useMutation(trpc.chat.cancelStream.mutationOptions());
  return {
    edit: (messageId: string, text: string) => run(() => edit.mutateAsync({ messageId, text })),
    react: (messageId: string, emoji: string) => run(() => react.mutateAsync({ messageId, emoji })),
    remove: (messageId: string) => run(() => remove.mutateAsync({ messageId })),
    cancel: (messageId: string) => run(() => cancel.mutateAsync({ messageId })),
  };
}

/** What {@link useMessageActions} returns: one set for the whole list, handed to each message. */
export type MessageActions = ReturnType<typeof useMessageActions>;

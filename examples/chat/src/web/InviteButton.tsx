import type { Room } from '@duplex/chat';
import { useMutation } from '@tanstack/react-query';
import { useId, useRef, useState } from 'react';
import { useTRPC } from './client';
import { focusOnMount, useDismiss } from './dom';
import { UserPlusIcon } from './icons';

/** Private rooms: the owner and moderators invite people by name, from a small popover. */
export function InviteButton({ room }: { room: Room }) {
  const [open, setOpen] = useState(false);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const popoverRef = useRef<HTMLDivElement>(null);
  const id = useId();
  const close = (how: 'escape' | 'outside') => {
    setOpen(false);
    if (how === 'escape') buttonRef.current?.focus();
  };
  useDismiss(popoverRef, open, close, '.invite-button');
  return (
    <div className="invite-wrap">
      <button
        ref={buttonRef}
        type="button"
        className="invite-button"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        onClick={() => setOpen(!open)}
      >
        <UserPlusIcon size={18} />
        <span className="invite-label">Invite</span>
      </button>
      {open && (
        <div className="invite-popover" id={id} ref={popoverRef}>
          <InviteForm room={room} />
        </div>
      )}
    </div>
  );
}

/** The popover's form: a name in, and a line saying who was invited or what went wrong. */
function InviteForm({ room }: { room: Room }) {
  const trpc = useTRPC();
  const invite = useMutation(trpc.chat.invite.mutationOptions());
  const [name, setName] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const id = useId();
  return (
    <form
      className="invite"
      onSubmit={(e) => {
        e.preventDefault();
        const typed = name.trim();
        if (!typed || invite.isPending) return;
        setResult(null);
        // The server resolves the name the way sign-in does, and says when nobody has it.
        invite.mutate(
          { roomId: room.id, userId: typed },
          {
            onSuccess: (answer) => {
              const who = answer?.user?.name ?? typed;
              setResult({
                ok: true,
                text:
                  answer?.status === 'member' ? `${who} is already in this room` : `Invited ${who}`,
              });
              setName('');
            },
            onError: (failure) => setResult({ ok: false, text: failure.message }),
          },
        );
      }}
    >
      <label htmlFor={id}>Invite to {room.name}</label>
      <div className="invite-row">
        <input
          id={id}
          ref={focusOnMount}
          placeholder="Name, e.g. Alan Turing"
          value={name}
          autoComplete="off"
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" className="primary" disabled={invite.isPending}>
          Invite
        </button>
      </div>
      <p
        className={
          result ? (result.ok ? 'invite-result ok' : 'invite-result error') : 'invite-result'
        }
        role="status"
      >
        {result?.text}
      </p>
    </form>
  );
}

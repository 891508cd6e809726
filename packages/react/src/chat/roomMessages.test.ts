import type { ChatEvent, Message, RoomSummary } from '@duplex/chat';
import { describe, expect, it } from 'vitest';
import {
  applyChatEvent,
  applyMemberEvent,
  compareIds,
  compareVersions,
  mergeNewestPage,
  mergeOlderPage,
  mergeRoomsAnswer,
  type RoomMessages,
  roomsAfterEvent,
  roomsAfterMessage,
  upsertMessage,
} from './roomMessages';

const at = new Date('2026-01-01T00:00:00Z');
const message = (id: string, extra: Partial<Message> = {}): Message => ({
  id,
  roomId: 'r',
  authorId: 'ada',
  authorName: 'Ada',
  clientMsgId: `c${id}`,
  text: `m${id}`,
  attachments: [],
  replyTo: null,
  reactions: {},
  createdAt: at,
  editedAt: null,
  deletedAt: null,
  stream: null,
  ...extra,
});
const room = (messages: Message[], hasOlder = false): RoomMessages => ({ messages, hasOlder });
const ids = (data: RoomMessages) => data.messages.map((m) => m.id);

describe('applyChatEvent', () => {
  it('adds a message once, in id order, however often it arrives', () => {
    const created: ChatEvent = { type: 'message.created', message: message('9') };
    const once = applyChatEvent(room([message('10'), message('8')]), created);
    expect(ids(once)).toEqual(['8', '9', '10']);
    expect(applyChatEvent(once, created)).toEqual(once);
  });

  it('confirms a pending send in place of its pending copy', () => {
    const pending = { ...message(''), clientMsgId: 'k', pending: true };
    const data = room([message('1'), pending]);
    const stored = message('2', { clientMsgId: 'k' });
    const next = applyChatEvent(data, { type: 'message.created', message: stored });
    expect(next.messages).toEqual([message('1'), stored]);
  });

  it('keeps a pending send of another author with the same clientMsgId', () => {
    const pending = { ...message(''), clientMsgId: 'k', pending: true };
    const other = message('2', { clientMsgId: 'k', authorId: 'grace' });
    const next = applyChatEvent(room([pending]), { type: 'message.created', message: other });
    expect(next.messages).toEqual([other, pending]);
  });

  it('appends a streamed chunk only as the next one', () => {
    const streaming = message('1', { text: 'a', stream: { state: 'streaming', chunks: 1 } });
    const delta = (seq: number, text: string): ChatEvent => ({
      type: 'message.delta',
      messageId: '1',
      seq,
      text,
    });
    const once = applyChatEvent(room([streaming]), delta(1, 'b'));
    expect(once.messages[0]).toMatchObject({ text: 'ab', stream: { chunks: 2 } });
    expect(applyChatEvent(once, delta(1, 'b'))).toBe(once);
    expect(applyChatEvent(once, delta(3, 'd'))).toBe(once);
  });

  it('sets reactions rather than toggling them, and drops an emoji nobody uses', () => {
    const react = (added: boolean): ChatEvent => ({
      type: 'reaction',
      messageId: '1',
      emoji: '👍',
      userId: 'grace',
      added,
    });
    const added = applyChatEvent(room([message('1')]), react(true));
    expect(applyChatEvent(added, react(true)).messages[0]!.reactions).toEqual({ '👍': ['grace'] });
    expect(applyChatEvent(added, react(false)).messages[0]!.reactions).toEqual({});
  });

  it('replaces edited and deleted messages that are loaded, and ignores others', () => {
    const edited = message('1', { text: 'new', editedAt: at });
    const data = room([message('1')]);
    expect(applyChatEvent(data, { type: 'message.edited', message: edited }).messages).toEqual([
      edited,
    ]);
    const elsewhere = message('5');
    expect(applyChatEvent(data, { type: 'message.edited', message: elsewhere })).toBe(data);
  });
});

describe('history pages', () => {
  it('merges the newest page fetched again without dropping older pages', () => {
    const loaded = room([message('1'), message('2'), message('3')], true);
    const next = mergeNewestPage(loaded, [message('3'), message('4')], 2);
    expect(ids(next)).toEqual(['1', '2', '3', '4']);
    expect(next.hasOlder).toBe(true);
  });

  it('keeps a streamed reply the stream has taken further than the page', () => {
    const ahead = message('1', { text: 'abc', stream: { state: 'streaming', chunks: 3 } });
    const behind = message('1', { text: 'a', stream: { state: 'streaming', chunks: 1 } });
    expect(mergeNewestPage(room([ahead]), [behind], 40).messages).toEqual([ahead]);
  });

  it('adds an older page below and learns whether there are more', () => {
    const next = mergeOlderPage(room([message('3')], true), [message('1'), message('2')], 2);
    expect(ids(next)).toEqual(['1', '2', '3']);
    expect(mergeOlderPage(next, [message('0')], 2).hasOlder).toBe(false);
  });
});

describe('rooms and members', () => {
  const summary: RoomSummary = {
    room: { id: 'r', name: 'General', visibility: 'public', ownerId: 'ada', createdAt: at },
    role: 'member',
    unread: 0,
    lastMessage: message('5'),
  };

  it('counts a newer message from someone else as unread, once', () => {
    const fromGrace = message('6', { authorId: 'grace' });
    const opts = { userId: 'ada', reading: false };
    const once = roomsAfterMessage({ mine: [summary] }, fromGrace, opts);
    expect(once.mine[0]).toMatchObject({ unread: 1, lastMessage: fromGrace });
    expect(roomsAfterMessage(once, fromGrace, opts)).toEqual(once);
    expect(roomsAfterMessage({ mine: [summary] }, message('7'), opts).mine[0]!.unread).toBe(0);
    const reading = roomsAfterMessage({ mine: [summary] }, fromGrace, { ...opts, reading: true });
    expect(reading.mine[0]!.unread).toBe(0);
  });

  describe('room previews', () => {
    const me = { userId: 'ada', reading: false };
    const rooms = (lastMessage: Message | null, unread = 0) => ({
      mine: [{ ...summary, lastMessage, unread }],
      discover: [],
    });
    const preview = (list: { mine: RoomSummary[] }) => list.mine[0]!.lastMessage;
    const streaming = (chunks: number, text: string) =>
      message('6', {
        authorId: 'bot',
        authorName: 'Duplex Bot',
        text,
        stream: { state: 'streaming', chunks },
      });
    const delta = (seq: number, text: string): ChatEvent => ({
      type: 'message.delta',
      messageId: '6',
      seq,
      text,
    });

    it('shows an edit of the last message, and ignores edits of older ones', () => {
      const edited = message('5', { text: 'fixed', editedAt: new Date(at.getTime() + 1) });
      const after = roomsAfterEvent(
        rooms(message('5')),
        'r',
        { type: 'message.edited', message: edited },
        me,
      );
      expect(preview(after)).toEqual(edited);
      const older = message('4', { text: 'older', editedAt: at });
      const list = rooms(message('5'));
      expect(roomsAfterEvent(list, 'r', { type: 'message.edited', message: older }, me)).toBe(list);
      // Another room's events leave this room alone.
      expect(roomsAfterEvent(list, 'other', { type: 'message.edited', message: edited }, me)).toBe(
        list,
      );
    });

    it('shows the last message deleted, as the tombstone, for good', () => {
      const tombstone = message('5', { text: null, deletedAt: at });
      const deleted = roomsAfterEvent(
        rooms(message('5')),
        'r',
        { type: 'message.deleted', message: tombstone, deletedBy: 'ada' },
        me,
      );
      expect(preview(deleted)).toEqual(tombstone);
      // An edit that arrives late (a replay, a refetch under way) never brings the text back.
      const late = message('5', { text: 'resurrected', editedAt: new Date(at.getTime() + 9) });
      expect(roomsAfterEvent(deleted, 'r', { type: 'message.edited', message: late }, me)).toBe(
        deleted,
      );
    });

    it('grows a streamed reply chunk by chunk, in order, then shows it whole', () => {
      const started = roomsAfterEvent(
        rooms(message('5')),
        'r',
        { type: 'message.created', message: streaming(0, '') },
        me,
      );
      expect(started.mine[0]!.unread).toBe(1);
      const one = roomsAfterEvent(started, 'r', delta(0, 'Reconnection '), me);
      const two = roomsAfterEvent(one, 'r', delta(1, 'resumes '), me);
      expect(preview(two)).toMatchObject({ text: 'Reconnection resumes ', stream: { chunks: 2 } });
      // Repeated and out-of-order chunks change nothing.
      expect(roomsAfterEvent(two, 'r', delta(1, 'resumes '), me)).toBe(two);
      expect(roomsAfterEvent(two, 'r', delta(3, 'later '), me)).toBe(two);
      const whole = message('6', {
        authorId: 'bot',
        authorName: 'Duplex Bot',
        text: 'Reconnection resumes every subscription.',
        stream: { state: 'done', chunks: 4 },
      });
      const ended = roomsAfterEvent(
        two,
        'r',
        { type: 'message.streamEnded', message: whole, endedBy: 'bot' },
        me,
      );
      expect(preview(ended)).toEqual(whole);
      expect(ended.mine[0]!.unread).toBe(1);
      // A chunk arriving after the end (a replay) leaves the whole text.
      expect(roomsAfterEvent(ended, 'r', delta(2, 'every '), me)).toBe(ended);
    });

    it('takes a later message from an edit, delete or end whose creation it missed', () => {
      const whole = message('7', { text: 'done', stream: { state: 'done', chunks: 1 } });
      const after = roomsAfterEvent(
        rooms(message('5'), 2),
        'r',
        { type: 'message.streamEnded', message: whole, endedBy: null },
        me,
      );
      expect(after.mine[0]).toMatchObject({ lastMessage: whole, unread: 2 });
    });

    it('keeps what the stream showed when a refetch read the room before it', () => {
      const shown = rooms(streaming(3, 'a b c '), 1);
      const answer = rooms(streaming(1, 'a '), 1);
      expect(mergeRoomsAnswer(shown, answer)).toEqual(shown);
      // The answer wins when it is as far along or further, unread counts included.
      const further = rooms(streaming(4, 'a b c d '), 0);
      expect(mergeRoomsAnswer(shown, further)).toBe(further);
      // A newer message the stream showed stays, with the count the stream kept.
      const newer = rooms(message('8', { authorId: 'grace' }), 3);
      expect(mergeRoomsAnswer(newer, rooms(message('5'), 0))).toEqual(newer);
      // A deletion stays; a room the answer no longer lists (left) is gone.
      const tombstone = rooms(message('5', { text: null, deletedAt: at }));
      expect(mergeRoomsAnswer(tombstone, rooms(message('5')))).toEqual(tombstone);
      expect(mergeRoomsAnswer(shown, { mine: [], discover: [] }).mine).toEqual([]);
      expect(mergeRoomsAnswer(undefined, answer)).toBe(answer);
    });

    it('ranks versions of one message: deleted, then ended, then more chunks, then later edits', () => {
      const plain = message('1');
      expect(compareVersions(message('1', { deletedAt: at }), plain)).toBeGreaterThan(0);
      expect(
        compareVersions(
          message('1', { stream: { state: 'failed', chunks: 1 } }),
          message('1', { stream: { state: 'streaming', chunks: 9 } }),
        ),
      ).toBeGreaterThan(0);
      expect(compareVersions(message('1', { editedAt: at }), plain)).toBeGreaterThan(0);
      expect(compareVersions(plain, message('1'))).toBe(0);
    });
  });

  it('moves a read marker forward only', () => {
    const members = [
      {
        userId: 'grace',
        name: 'Grace',
        role: 'member' as const,
        joinedAt: at,
        lastReadMessageId: '10',
      },
    ];
    const back = applyMemberEvent(members, { type: 'receipt', userId: 'grace', messageId: '9' });
    expect(back[0]!.lastReadMessageId).toBe('10');
    const on = applyMemberEvent(members, { type: 'receipt', userId: 'grace', messageId: '11' });
    expect(on[0]!.lastReadMessageId).toBe('11');
  });

  it('orders ids as numbers', () => {
    expect(['10', '9', '100'].sort(compareIds)).toEqual(['9', '10', '100']);
    expect(upsertMessage(room([]), message('10')).messages).toHaveLength(1);
  });
});

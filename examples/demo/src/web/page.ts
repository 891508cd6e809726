import { createDuplexClient, type DuplexStatus, idempotent, isGap } from '@duplex/client';
import type { BoardMessage, DemoRouter } from '../router';

const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;

const nameKey = 'duplex-demo:name';
let name = localStorage.getItem(nameKey);
if (!name) {
  name = `guest-${Math.random().toString(36).slice(2, 6)}`;
  localStorage.setItem(nameKey, name);
}
$('#me').textContent = name;

const client = createDuplexClient<DemoRouter>({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/trpc`,
  token: () => localStorage.getItem(nameKey),
});
Object.assign(window, { duplexClient: client });

const statusText: Record<DuplexStatus['state'], string> = {
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  unauthorized: 'Signed out',
  closed: 'Closed',
};
const showStatus = (status: DuplexStatus) => {
  const badge = $('#status');
  badge.textContent = statusText[status.state];
  badge.dataset.state = status.state;
};
showStatus(client.$status.get());
client.$status.subscribe(showStatus);

client.onTick.subscribe(
  {},
  {
    onData: ({ data }) => {
      if (isGap(data)) return;
      $('#clock').textContent = data.at.toLocaleTimeString();
      $('#connections').textContent = String(data.connections);
    },
  },
);

const board = $('#board');
const shown = new Set<string>();
const render = (message: BoardMessage) => {
  if (shown.has(message.clientMsgId)) return;
  shown.add(message.clientMsgId);
  const item = document.createElement('li');
  item.dataset.id = message.clientMsgId;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `${message.author} · ${message.at.toLocaleTimeString()}`;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = message.text;
  item.append(meta, text);
  board.append(item);
  board.scrollTop = board.scrollHeight;
};
/** The recent messages the server still has; merged by id with what the stream delivered. */
const loadRecent = async () => {
  for (const message of await client.board.query()) render(message);
};

// Subscribe first, then load the snapshot: a message posted in between arrives on the stream.
client.onBoard.subscribe(
  {},
  {
    onStarted: () => void loadRecent(),
    onData: ({ data }) => {
      if (isGap(data)) {
        const note = document.createElement('li');
        note.className = 'gap';
        note.textContent = 'The connection was interrupted: some messages may be missing.';
        board.append(note);
        void loadRecent();
        return;
      }
      render(data);
    },
  },
);

$<HTMLFormElement>('#composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('#text');
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  try {
    await client.post.mutate({ clientMsgId: crypto.randomUUID(), text }, idempotent);
  } catch (error) {
    input.value = text;
    $('#error').textContent = error instanceof Error ? error.message : String(error);
  }
});

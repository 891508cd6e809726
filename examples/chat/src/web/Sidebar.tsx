import { useState } from 'react';
import type { ChatModel } from './chatModel';
import { Bell } from './NotificationCenter';

const statusLabel = {
  connecting: 'Connecting',
  open: 'Online',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  unauthorized: 'Signed out',
  closed: 'Closed',
};

export function Sidebar({
  model,
  onSignOut,
  onToggleNotifications,
}: {
  model: ChatModel;
  onSignOut: () => void;
  onToggleNotifications: () => void;
}) {
  const [name, setName] = useState('');
  const [priv, setPriv] = useState(false);
  return (
    <aside className="sidebar">
      <div className="me">
        <div className="avatar">{model.me.name.slice(0, 1).toUpperCase()}</div>
        <div className="me-text">
          <strong>{model.me.name}</strong>
          <span className="conn" data-state={model.status.state}>
            {model.status.state === 'open' && model.status.transport === 'http'
              ? 'Online (over HTTP)'
              : statusLabel[model.status.state]}
          </span>
        </div>
        <Bell model={model} onToggle={onToggleNotifications} />
        <button type="button" className="link" onClick={onSignOut}>
          Sign out
        </button>
      </div>
      <h3>Rooms</h3>
      <ul className="rooms">
        {model.rooms.map(({ room, unread, lastMessage }) => (
          <li key={room.id}>
            <button
              type="button"
              className={room.id === model.activeRoomId ? 'room active' : 'room'}
              onClick={() => void model.run(() => model.openRoom(room.id))}
            >
              <span className="room-name">
                {room.visibility === 'private' ? '🔒 ' : '# '}
                {room.name}
              </span>
              {unread > 0 && (
                <span className="badge" data-room={room.name}>
                  {unread}
                </span>
              )}
              <span className="preview">
                {lastMessage
                  ? `${lastMessage.authorName}: ${lastMessage.text ?? (lastMessage.deletedAt ? 'deleted' : '📷 image')}`
                  : 'No messages yet'}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {model.discover.length > 0 && (
        <>
          <h3>Discover</h3>
          <ul className="rooms">
            {model.discover.map((room) => (
              <li key={room.id} className="discover">
                <span># {room.name}</span>
                <button type="button" onClick={() => void model.run(() => model.joinRoom(room.id))}>
                  Join
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <form
        className="new-room"
        onSubmit={(e) => {
          e.preventDefault();
          if (!name.trim()) return;
          void model.run(() => model.createRoom(name.trim(), priv ? 'private' : 'public'));
          setName('');
        }}
      >
        <input
          placeholder="New room name"
          value={name}
          maxLength={80}
          onChange={(e) => setName(e.target.value)}
        />
        <label>
          <input type="checkbox" checked={priv} onChange={(e) => setPriv(e.target.checked)} />{' '}
          Private
        </label>
        <button type="submit">Create</button>
      </form>
    </aside>
  );
}

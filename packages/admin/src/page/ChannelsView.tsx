import { useState } from 'react';
import { adminCommandsChannel, adminReportsChannel } from '../adminOptions';
import type { ChannelPresence } from '../adminTypes';
import { type ChannelRow, channelRows, fmtInt, fmtRate, type Sample } from './derive';
import { TableBox } from './TableBox';

/** The channels the dashboard itself uses: on a quiet app they would be most of the list. */
const isDashboardChannel = (row: ChannelRow) =>
  row.channel === adminReportsChannel || row.channel === adminCommandsChannel;

/** Channels with subscribers on the selected nodes. */
export function ChannelsView({ samples, nodeId }: { samples: Sample[]; nodeId: string | null }) {
  const [showOwn, setShowOwn] = useState(false);
  const all = channelRows(samples, nodeId);
  const rows = showOwn ? all : all.filter((row) => !isDashboardChannel(row));
  const hidden = all.length - rows.length;
  return (
    <section className="card" aria-labelledby="channels-title">
      <div className="card-head">
        <h2 id="channels-title" className="card-title">
          Channels <span className="muted">({fmtInt(rows.length)})</span>
        </h2>
        <label className="toggle">
          <input type="checkbox" checked={showOwn} onChange={(e) => setShowOwn(e.target.checked)} />
          <span>Show the dashboard's own channels</span>
        </label>
      </div>
      <TableBox label="Channels table">
        <table>
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col" className="num">
                Subscribers
              </th>
              <th scope="col" className="num">
                Published/s
              </th>
              <th scope="col" className="num">
                Retained
              </th>
              <th scope="col">Last event id</th>
              <th scope="col">Present</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.channel} data-channel={c.channel}>
                <th scope="row" className="mono">
                  {c.channel}
                </th>
                <td className="num">{fmtInt(c.subscribers)}</td>
                <td className="num">{fmtRate(c.rate)}</td>
                <td className="num">{c.retained === null ? '–' : fmtInt(c.retained)}</td>
                <td className="mono">{c.lastEventId ?? '–'}</td>
                <td className="present">
                  <Present channel={c.channel} present={c.present} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 && (
          <p className="empty">
            No channel has subscribers
            {hidden > 0 ? ` but the dashboard's own (${fmtInt(hidden)} hidden)` : ''}.
          </p>
        )}
      </TableBox>
    </section>
  );
}

/**
 * How many are present, and who on expand (a `<details>`: Enter or Space opens it). `–` where
 * no node read the channel's presence (no `presence` option, or a read that came late).
 */
function Present({ channel, present }: { channel: string; present: ChannelPresence | null }) {
  if (present === null) return <span className="muted">–</span>;
  if (present.count === 0) return <span className="count">0</span>;
  const more = present.count - present.members.length;
  return (
    <details>
      <summary>
        <span className="count">{fmtInt(present.count)}</span>
        <span className="sr-only"> present on {channel}</span>
      </summary>
      <ul className="members">
        {present.members.map((m) => (
          <li key={m.id} title={m.id}>
            {m.name}
          </li>
        ))}
        {more > 0 && <li className="muted">and {fmtInt(more)} more</li>}
      </ul>
    </details>
  );
}

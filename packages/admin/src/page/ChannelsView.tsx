import { channelRows, fmtInt, fmtRate, type Sample } from './derive';
import { TableBox } from './TableBox';

/** Channels with subscribers on the selected nodes. */
export function ChannelsView({ samples, nodeId }: { samples: Sample[]; nodeId: string | null }) {
  const rows = channelRows(samples, nodeId);
  return (
    <section className="card" aria-labelledby="channels-title">
      <h2 id="channels-title" className="card-title">
        Channels <span className="muted">({fmtInt(rows.length)})</span>
      </h2>
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
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 && <p className="empty">No channel has subscribers.</p>}
      </TableBox>
    </section>
  );
}

import { fmtInt, fmtRate, fmtSeconds, procedureRows, type Sample } from './derive';
import { TableBox } from './TableBox';

const sinceStartNote = 'No calls in the window: over every call since the node started';

/** Calls, errors and latency per procedure path; percentiles over the charts' window. */
export function ProceduresView({ samples, nodeId }: { samples: Sample[]; nodeId: string | null }) {
  const rows = procedureRows(samples, nodeId);
  return (
    <section className="card" aria-labelledby="procedures-title">
      <h2 id="procedures-title" className="card-title">
        Procedures <span className="muted">(latency over the last minutes)</span>
      </h2>
      <TableBox label="Procedures table">
        <table>
          <thead>
            <tr>
              <th scope="col">Path</th>
              <th scope="col">Type</th>
              <th scope="col" className="num">
                Calls
              </th>
              <th scope="col" className="num">
                Calls/s
              </th>
              <th scope="col" className="num">
                Errors
              </th>
              <th scope="col" className="num">
                p50
              </th>
              <th scope="col" className="num">
                p99
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.path} data-path={p.path}>
                <th scope="row" className="mono">
                  {p.path}
                </th>
                <td>{p.type}</td>
                <td className="num">{fmtInt(p.calls)}</td>
                <td className="num">{fmtRate(p.rate)}</td>
                <td
                  className={p.errors > 0 ? 'num bad' : 'num'}
                  title={Object.entries(p.errorsByCode)
                    .map(([code, n]) => `${code}: ${n}`)
                    .join(', ')}
                >
                  {fmtInt(p.errors)}
                </td>
                <td
                  className={p.sinceStart ? 'num muted' : 'num'}
                  title={p.sinceStart ? sinceStartNote : undefined}
                >
                  {fmtSeconds(p.p50)}
                </td>
                <td
                  className={p.sinceStart ? 'num muted' : 'num'}
                  title={p.sinceStart ? sinceStartNote : undefined}
                >
                  {fmtSeconds(p.p99)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 && <p className="empty">No calls yet.</p>}
      </TableBox>
      {rows.some((p) => p.sinceStart) && (
        <p className="muted table-note">
          Grey latencies: no calls in the window, so over every call since the node started.
        </p>
      )}
    </section>
  );
}

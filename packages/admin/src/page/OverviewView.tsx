import type { DuplexNodeStats } from '@duplex/server';
import type { ReactNode } from 'react';
import { Chart, type ChartSeries, palette } from './Chart';
import {
  connectionsOf,
  fmtAge,
  fmtBytes,
  fmtInt,
  fmtRate,
  nodeIn,
  pick,
  previousOf,
  rateOf,
  type Sample,
  shortNode,
  sum,
  totalRate,
  windowCounts,
} from './derive';
import { TableBox } from './TableBox';

/** The node ids seen in the window (selected ones only), in order of appearance. */
function nodeIdsOf(samples: readonly Sample[], nodeId: string | null) {
  const ids = new Set<string>();
  for (const s of samples) for (const n of pick(s.nodes, nodeId)) ids.add(n.nodeId);
  return [...ids];
}

/** A line per node and, for several nodes, their total (or `combine`) as a thicker line. */
function perNode(
  samples: readonly Sample[],
  nodeId: string | null,
  value: (index: number, node: DuplexNodeStats) => number | null,
  combine: (values: number[]) => number = sum,
  totalLabel = 'Total',
): ChartSeries[] {
  const ids = nodeIdsOf(samples, nodeId);
  const lines: ChartSeries[] = ids.map((id, i) => ({
    label: shortNode(id),
    color: palette[(i + 1) % palette.length]!,
    values: samples.map((s, j) => {
      const node = nodeIn(s, id);
      return node ? value(j, node) : null;
    }),
  }));
  if (ids.length <= 1) return lines.map((l) => ({ ...l, color: palette[0]!, strong: true }));
  const total = samples.map((s, j) => {
    const values = pick(s.nodes, nodeId)
      .map((n) => value(j, n))
      .filter((v): v is number => v !== null);
    return values.length ? combine(values) : null;
  });
  return [{ label: totalLabel, color: palette[0]!, values: total, strong: true }, ...lines];
}

/** The `top` keys with the biggest counts, each as a line of its increase over the window. */
function byCode(
  samples: readonly Sample[],
  nodeId: string | null,
  counts: (n: DuplexNodeStats) => Readonly<Record<string, number>>,
  top = 4,
): { totals: Record<string, number>; lines: ChartSeries[] } {
  const totals = windowCounts(samples, nodeId, counts);
  const codes = Object.keys(totals)
    .sort((a, b) => totals[b]! - totals[a]!)
    .slice(0, top);
  const lines = codes.map((code, i) => ({
    label: code,
    color: palette[i % palette.length]!,
    values: samples.map((_, j) => windowCounts(samples.slice(0, j + 1), nodeId, counts)[code] ?? 0),
  }));
  return { totals, lines };
}

const countsText = (totals: Record<string, number>) =>
  Object.entries(totals)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ×${fmtInt(n)}`)
    .join(', ') || 'none';

function Metric(props: {
  id: string;
  title: string;
  value: string;
  detail?: ReactNode;
  times: readonly number[];
  series: ChartSeries[];
  format?: (v: number) => string;
}) {
  const { id, title, value, detail, times, series, format } = props;
  return (
    <article className="card metric" data-metric={id} aria-labelledby={`metric-${id}`}>
      <header>
        <h3 id={`metric-${id}`}>{title}</h3>
        <p className="value">{value}</p>
        {detail && <p className="detail">{detail}</p>}
      </header>
      <Chart
        label={`${title} over the last minutes`}
        times={times}
        series={series}
        {...(format ? { format } : {})}
      />
    </article>
  );
}

const mib = (bytes: number) => bytes / 1024 / 1024;
const compact = (v: number) =>
  v >= 1000
    ? `${(v / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })}k`
    : `${Math.round(v * 100) / 100}`;

/** The overview: the selected nodes' figures now, and a small chart of each over the window. */
export function OverviewView(props: {
  samples: Sample[];
  nodeId: string | null;
  reportIntervalMs: number;
}) {
  const { samples, nodeId, reportIntervalMs } = props;
  const last = samples.at(-1);
  if (!last) return <p className="empty">Waiting for the first report…</p>;
  const nodes = pick(last.nodes, nodeId);
  const times = samples.map((s) => s.at);
  const g = (f: (n: DuplexNodeStats) => number) => (_i: number, n: DuplexNodeStats) => f(n);
  const r = (f: (n: DuplexNodeStats) => number) => (i: number, n: DuplexNodeStats) =>
    rateOf(previousOf(samples, i, n), n, f);
  const ws = sum(nodes.map((n) => n.connections.websocket));
  const http = sum(nodes.map((n) => n.connections.http));
  const lastIndex = samples.length - 1;
  const calls = totalRate(samples, lastIndex, nodeId, (n) => n.calls);
  const events = totalRate(samples, lastIndex, nodeId, (n) => n.events);
  const closes = byCode(samples, nodeId, (n) => n.closesByCode);
  const errors = byCode(samples, nodeId, (n) => n.errorsByCode);
  const loop = Math.max(0, ...nodes.map((n) => n.eventLoopDelayMs.p99));
  const heap = sum(nodes.map((n) => n.memory.heapUsedBytes));
  const rss = sum(nodes.map((n) => n.memory.rssBytes));
  const transportSeries: ChartSeries[] = [
    {
      label: 'WebSocket',
      color: palette[0]!,
      strong: true,
      values: samples.map((s) => sum(pick(s.nodes, nodeId).map((n) => n.connections.websocket))),
    },
    {
      label: 'HTTP',
      color: palette[2]!,
      values: samples.map((s) => sum(pick(s.nodes, nodeId).map((n) => n.connections.http))),
    },
  ];
  const memorySeries: ChartSeries[] = [
    {
      label: 'RSS',
      color: palette[0]!,
      strong: true,
      values: samples.map((s) => mib(sum(pick(s.nodes, nodeId).map((n) => n.memory.rssBytes)))),
    },
    {
      label: 'Heap used',
      color: palette[1]!,
      values: samples.map((s) =>
        mib(sum(pick(s.nodes, nodeId).map((n) => n.memory.heapUsedBytes))),
      ),
    },
  ];
  return (
    <div className="overview">
      <div className="metrics">
        <Metric
          id="connections"
          title="Connections"
          value={fmtInt(ws + http)}
          detail={`WebSocket ${fmtInt(ws)} · HTTP ${fmtInt(http)}`}
          times={times}
          series={transportSeries}
          format={compact}
        />
        <Metric
          id="users"
          title="Users online"
          value={fmtInt(sum(nodes.map((n) => n.usersOnline)))}
          detail={nodes.length > 1 ? 'Summed over nodes' : undefined}
          times={times}
          series={perNode(
            samples,
            nodeId,
            g((n) => n.usersOnline),
          )}
          format={compact}
        />
        <Metric
          id="subscriptions"
          title="Subscriptions"
          value={fmtInt(sum(nodes.map((n) => n.subscriptions)))}
          times={times}
          series={perNode(
            samples,
            nodeId,
            g((n) => n.subscriptions),
          )}
          format={compact}
        />
        <Metric
          id="calls"
          title="Calls/s"
          value={fmtRate(calls)}
          detail={
            <>
              <span className="total">{fmtInt(sum(nodes.map((n) => n.calls)))}</span> calls in all
            </>
          }
          times={times}
          series={perNode(
            samples,
            nodeId,
            r((n) => n.calls),
          )}
          format={compact}
        />
        <Metric
          id="events"
          title="Events/s"
          value={fmtRate(events)}
          detail={
            <>
              <span className="total">{fmtInt(sum(nodes.map((n) => n.events)))}</span> events in all
            </>
          }
          times={times}
          series={perNode(
            samples,
            nodeId,
            r((n) => n.events),
          )}
          format={compact}
        />
        <Metric
          id="closes"
          title="Closes by code"
          value={fmtInt(sum(Object.values(closes.totals)))}
          detail={countsText(closes.totals)}
          times={times}
          series={closes.lines}
          format={compact}
        />
        <Metric
          id="errors"
          title="Errors by code"
          value={fmtInt(sum(Object.values(errors.totals)))}
          detail={countsText(errors.totals)}
          times={times}
          series={errors.lines}
          format={compact}
        />
        <Metric
          id="loop"
          title="Event-loop delay p99"
          value={`${loop.toLocaleString('en-US', { maximumFractionDigits: 1 })} ms`}
          detail={nodes.length > 1 ? 'Worst node' : undefined}
          times={times}
          series={perNode(
            samples,
            nodeId,
            g((n) => n.eventLoopDelayMs.p99),
            (v) => Math.max(...v),
            'Worst',
          )}
          format={(v) => `${compact(v)} ms`}
        />
        <Metric
          id="memory"
          title="Memory"
          value={fmtBytes(rss)}
          detail={`RSS · heap used ${fmtBytes(heap)}`}
          times={times}
          series={memorySeries}
          format={(v) => `${Math.round(v)} MiB`}
        />
      </div>
      <NodesTable
        nodes={nodes}
        samples={samples}
        now={last.at}
        reportIntervalMs={reportIntervalMs}
      />
    </div>
  );
}

function NodesTable({
  nodes,
  samples,
  now,
  reportIntervalMs,
}: {
  nodes: readonly DuplexNodeStats[];
  samples: readonly Sample[];
  now: number;
  reportIntervalMs: number;
}) {
  return (
    <section className="card" aria-labelledby="nodes-title">
      <h2 id="nodes-title" className="card-title">
        Nodes <span className="muted">({nodes.length})</span>
      </h2>
      <TableBox label="Nodes table">
        <table className="nodes-table">
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Up</th>
              <th scope="col">Last report</th>
              <th scope="col" className="num">
                Connections
              </th>
              <th scope="col" className="num">
                Users
              </th>
              <th scope="col" className="num">
                Subscriptions
              </th>
              <th scope="col" className="num">
                Calls/s
              </th>
              <th scope="col" className="num">
                Loop p99
              </th>
              <th scope="col" className="num">
                RSS
              </th>
              <th scope="col">Broker</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <tr key={n.nodeId} data-node={n.nodeId}>
                <th scope="row" title={n.nodeId}>
                  {shortNode(n.nodeId)}
                </th>
                <td>{fmtAge(now - n.startedAt)}</td>
                <td>
                  {/* Nodes report every interval; one late by two is likely gone (dropped after three). */}
                  {now - n.at > 2 * reportIntervalMs ? (
                    <span className="pill reconnecting">late: {fmtAge(now - n.at)} ago</span>
                  ) : (
                    `${fmtAge(now - n.at)} ago`
                  )}
                </td>
                <td className="num">{fmtInt(connectionsOf(n))}</td>
                <td className="num">{fmtInt(n.usersOnline)}</td>
                <td className="num">{fmtInt(n.subscriptions)}</td>
                <td className="num">
                  {fmtRate(rateOf(previousOf(samples, samples.length - 1, n), n, (x) => x.calls))}
                </td>
                <td className="num">{n.eventLoopDelayMs.p99.toFixed(1)} ms</td>
                <td className="num">{fmtBytes(n.memory.rssBytes)}</td>
                <td>
                  <span className={`pill ${n.broker.state}`}>
                    {n.broker.kind} · {n.broker.state}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableBox>
    </section>
  );
}

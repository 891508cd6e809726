import { Chart, palette } from './Chart';
import { fmtInt, fmtSeconds, nodeIn, pick, quantileOf, type Sample, shortNode } from './derive';

/** Each selected node's broker: kind, state, outages, publish latency over the window. */
export function BrokerView({ samples, nodeId }: { samples: Sample[]; nodeId: string | null }) {
  const last = samples.at(-1);
  const nodes = last ? pick(last.nodes, nodeId) : [];
  return (
    <div className="broker">
      {nodes.map((n) => {
        const first = samples.find((s) => nodeIn(s, n.nodeId)?.startedAt === n.startedAt);
        const base =
          first && first !== last ? nodeIn(first, n.nodeId)?.broker.publishBuckets : null;
        const buckets = n.broker.publishBuckets?.map((v, i) => v - (base?.[i] ?? 0)) ?? null;
        const points = samples.map((s) => {
          const b = nodeIn(s, n.nodeId)?.broker.publishBuckets;
          return b ? quantileOf(b, 0.99) : null;
        });
        return (
          <section
            key={n.nodeId}
            className="card broker-card"
            data-node={n.nodeId}
            aria-label={`Broker on ${shortNode(n.nodeId)}`}
          >
            <h2 className="card-title" title={n.nodeId}>
              Broker on {shortNode(n.nodeId)}
            </h2>
            <dl className="facts">
              <div>
                <dt>Kind</dt>
                <dd>{n.broker.kind}</dd>
              </div>
              <div>
                <dt>State</dt>
                <dd>
                  <span className={`pill ${n.broker.state}`}>{n.broker.state}</span>
                </dd>
              </div>
              <div>
                <dt>Outages</dt>
                <dd>{fmtInt(n.broker.outages)}</dd>
              </div>
              <div>
                <dt>Publish p50</dt>
                <dd>{buckets ? fmtSeconds(quantileOf(buckets, 0.5)) : '–'}</dd>
              </div>
              <div>
                <dt>Publish p99</dt>
                <dd>{buckets ? fmtSeconds(quantileOf(buckets, 0.99)) : '–'}</dd>
              </div>
            </dl>
            {!buckets && (
              <p className="muted table-note">This broker does not time its publishes.</p>
            )}
            {buckets && (
              <Chart
                label="Publish latency p99 since the node started"
                times={samples.map((s) => s.at)}
                series={[
                  {
                    label: 'p99',
                    color: palette[0]!,
                    strong: true,
                    values: points.map((v) => (v === null ? null : v * 1000)),
                  },
                ]}
                format={(v) => `${v} ms`}
              />
            )}
          </section>
        );
      })}
      {nodes.length === 0 && <p className="empty">No node is reporting.</p>}
    </div>
  );
}

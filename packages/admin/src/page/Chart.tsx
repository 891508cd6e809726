import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line of a chart. */
export interface ChartSeries {
  label: string;
  color: string;
  /** One value per x, `null` where unknown. */
  values: (number | null)[];
  /** A thicker line (the total beside the nodes). */
  strong?: boolean;
}

const timeOf = (seconds: number) =>
  new Date(seconds * 1000).toLocaleTimeString('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });

/** Colors for lines, each ≥ 3:1 against the white card (WCAG's figure for graphics). */
export const palette = ['#3b4fd4', '#0f7b57', '#c2410c', '#7c3aed', '#0e7490', '#b42323'];

export interface ChartProps {
  /** What the chart shows, for screen readers (the canvas itself is not readable). */
  label: string;
  /** Epoch ms. */
  times: readonly number[];
  series: readonly ChartSeries[];
  /** Formats the y axis' ticks. */
  format?: (value: number) => string;
  height?: number;
}

/**
 * A small live time-series chart on uPlot (canvas; ~50 KB, made for streaming data: a new frame
 * is one `setData`). The chart is rebuilt only when its lines change, and follows its box's width.
 */
export function Chart({ label, times, series, format, height: asked }: ChartProps) {
  // A phone shows the charts one under another: lower ones keep more of them on screen.
  const height = asked ?? (window.matchMedia('(max-width: 760px)').matches ? 96 : 120);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => `${s.label}|${s.color}|${s.strong ? 1 : 0}`).join(',');
  const formatRef = useRef(format);
  formatRef.current = format;
  const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...series.map((s) => s.values)];
  const dataRef = useRef(data);
  dataRef.current = data;

  // biome-ignore lint/correctness/useExhaustiveDependencies: `shape` stands for `series`' lines.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = {
      stroke: '#566074',
      font: '11px Inter, system-ui, sans-serif',
      grid: { stroke: '#eef1f6', width: 1 },
      ticks: { show: false },
    };
    const u = new uPlot(
      {
        width: Math.max(120, el.clientWidth),
        height,
        legend: { show: false },
        cursor: { show: true, points: { size: 5 }, drag: { x: false, y: false } },
        scales: {
          x: { time: true },
          y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          {
            ...axis,
            size: 28,
            space: 70,
            // Whole seconds and up: the window is minutes long, frames come at most every second.
            incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
            // One line, `14:05:30`: uPlot's default adds the date on a second line.
            values: (_u, ticks) => ticks.map((t) => timeOf(t)),
          },
          {
            ...axis,
            size: 48,
            space: 24,
            values: (_u, ticks) => ticks.map((v) => (formatRef.current ?? String)(v)),
          },
        ],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: s.strong ? 2 : 1.25,
            spanGaps: false,
            points: { show: false },
          })),
        ],
      },
      dataRef.current,
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() =>
      u.setSize({ width: Math.max(120, el.clientWidth), height }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure className="chart">
      <div ref={box} className="chart-canvas" role="img" aria-label={label} />
      {series.length > 1 && (
        <figcaption className="legend">
          {series.map((s, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the lines are fixed while the chart lives.
            <span key={i} className={s.strong ? 'strong' : undefined}>
              <i style={{ background: s.color }} aria-hidden="true" />
              {s.label}
            </span>
          ))}
        </figcaption>
      )}
    </figure>
  );
}

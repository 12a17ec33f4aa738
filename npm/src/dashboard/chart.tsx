/**
 * A time-series chart drawn by uPlot, with a legend in words (each series' name, dash pattern and
 * latest value) so that colour never carries the meaning alone. Web vitals get their good /
 * needs-improvement / poor bands drawn behind the line, labelled.
 */
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import uPlot from 'uplot';

import type { Column } from './api.js';
import { duration, number, percent, usd, vital } from './format.js';

/** The unit of a chart's values, which says how they are written. */
export type Unit = 'ms' | 'percent' | 'usd' | 'count' | 'score';

/** One line of a chart. */
export interface Line {
  label: string;
  values: Column;
}

export interface ChartProps {
  title: string;
  unit: Unit;
  /** Bucket starts (or sample times), epoch ms, ascending. */
  times_ms: number[];
  /** The window shown, epoch ms: every chart spans all of it, however few its points. */
  window_ms: readonly [number, number];
  lines: Line[];
  /** web-vitals' thresholds `[good, poor]`: the bands drawn behind the lines. */
  bands?: readonly [number, number];
  /** A note under the title (what the numbers are). */
  note?: ReactNode;
  height?: number;
}

/** Colours and dash patterns, in order: a series differs from its neighbours in both. */
const STROKES = ['#1d4ed8', '#b91c1c', '#047857', '#7e22ce', '#c2410c', '#0e7490', '#4d7c0f'];
const DASHES: number[][] = [[], [6, 4], [2, 3], [10, 3, 2, 3], [1, 5], [8, 8], [4, 2, 1, 2]];
const BAND_FILL = ['rgba(4, 120, 87, 0.10)', 'rgba(202, 138, 4, 0.14)', 'rgba(185, 28, 28, 0.12)'];
const BAND_TEXT = ['good', 'needs improvement', 'poor'];

/** How `unit` writes a value. */
export function formatter(unit: Unit): (value: number | null | undefined) => string {
  switch (unit) {
    case 'ms':
      return duration;
    case 'percent':
      return percent;
    case 'usd':
      return usd;
    case 'score':
      return (v) => vital('CLS', v);
    default:
      return (v) => number(v, 2);
  }
}

/** Whether this browser can draw on a canvas (jsdom cannot: the legend shows alone there). */
function canDraw(): boolean {
  try {
    return typeof document !== 'undefined' && document.createElement('canvas').getContext('2d') !== null;
  } catch {
    return false;
  }
}

function latest(values: Column): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

/** Draws the rating bands of `[good, poor]` behind the plot, each labelled in words. */
function drawBands(u: uPlot, [good, poor]: readonly [number, number]) {
  const { ctx, bbox } = u;
  const top = bbox.top;
  const bottom = bbox.top + bbox.height;
  const y = (value: number) => Math.min(bottom, Math.max(top, u.valToPos(value, 'y', true)));
  const edges = [bottom, y(good), y(poor), top];
  ctx.save();
  ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  for (let i = 0; i < 3; i++) {
    const [from, to] = [edges[i]!, edges[i + 1]!];
    if (from - to < 1) continue;
    ctx.fillStyle = BAND_FILL[i]!;
    ctx.fillRect(bbox.left, to, bbox.width, from - to);
    if (from - to > 14 * devicePixelRatio) {
      ctx.fillStyle = '#374151';
      ctx.fillText(BAND_TEXT[i]!, bbox.left + 4 * devicePixelRatio, to + 2 * devicePixelRatio);
    }
  }
  ctx.restore();
}

/** Whether a window is long enough for its time labels to be days. */
function isLong(span: readonly [number, number]): boolean {
  return span[1] - span[0] > 2 * 24 * 3.6e6;
}

/** Time labels: the hour and minute within two days (`long` false), the day beyond. */
function timeLabels(long: boolean) {
  const format = long
    ? new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short' })
    : new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false });
  return (_u: uPlot, splits: number[]) => splits.map((s) => format.format(new Date(s * 1000)));
}

/**
 * The chart's uPlot options for `width`. The x range is read from `span` each time uPlot
 * scales, so a refresh (whose window moves) only sets new data.
 */
function options(
  props: ChartProps,
  width: number,
  height: number,
  span: { current: readonly [number, number] },
): uPlot.Options {
  const format = formatter(props.unit);
  const bands = props.bands;
  return {
    width,
    height,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true, range: () => [span.current[0] / 1000, span.current[1] / 1000] },
      y: {
        range: (_u, min, max) => {
          // From zero; with bands, up to just past "poor"; percentages within 0-100.
          const top = Math.max(max ?? 0, bands ? bands[1] * 1.1 : 0) * 1.1 || 1;
          return [Math.min(0, min ?? 0), props.unit === 'percent' ? Math.min(100, top) : top];
        },
      },
    },
    axes: [
      { stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, values: timeLabels(isLong(props.window_ms)) },
      {
        stroke: '#4b5563',
        grid: { stroke: '#e5e7eb' },
        size: 64,
        values: (_u, splits) => splits.map((v) => format(v)),
      },
    ],
    series: [
      {},
      ...props.lines.map((line, i) => ({
        label: line.label,
        stroke: STROKES[i % STROKES.length]!,
        dash: DASHES[i % DASHES.length]!,
        width: 2,
        spanGaps: false,
        points: { show: true, size: 4 },
        value: (_u: uPlot, v: number | null) => format(v),
      })),
    ],
    hooks: bands ? { drawClear: [(u: uPlot) => drawBands(u, bands)] } : {},
  };
}

/** uPlot's data: times in seconds, then each line. */
function data(props: ChartProps): uPlot.AlignedData {
  return [props.times_ms.map((t) => t / 1000), ...props.lines.map((l) => l.values)] as uPlot.AlignedData;
}

/** A chart with its title, note and legend. */
export function Chart(props: ChartProps): ReactNode {
  const id = useId();
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [drawable] = useState(canDraw);
  const height = props.height ?? 200;
  const empty = props.lines.every((l) => l.values.every((v) => v === null));
  // The shape (lines, unit, bands, days or hours on the time axis) decides the options; new
  // values and a moved window only replace the data.
  const span = useRef(props.window_ms);
  span.current = props.window_ms;
  const shape = JSON.stringify([props.unit, props.bands, props.lines.map((l) => l.label), isLong(props.window_ms)]);

  useEffect(() => {
    const element = holder.current;
    if (!drawable || empty || !element) return;
    const width = Math.max(element.clientWidth, 200);
    const u = new uPlot(options(props, width, height, span), data(props), element);
    plot.current = u;
    const resize = new ResizeObserver(() => {
      const w = Math.max(element.clientWidth, 200);
      if (w !== u.width) u.setSize({ width: w, height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Recreated when the shape changes; new data goes through setData below.
  }, [shape, drawable, empty, height]);

  useEffect(() => {
    plot.current?.setData(data(props));
  });

  const format = formatter(props.unit);
  return (
    <figure className="pw-chart" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{props.title}</h3>
      {props.note && <p className="pw-note">{props.note}</p>}
      {empty ? (
        <p className="pw-empty">No data in this range.</p>
      ) : (
        <div ref={holder} className="pw-plot" role="img" aria-label={`${props.title}: ${summary(props, format)}`} />
      )}
      <ul className="pw-legend" aria-label={`${props.title}, latest values`}>
        {props.lines.map((line, i) => (
          <li key={line.label}>
            <svg width="24" height="8" aria-hidden="true">
              <line
                x1="0"
                y1="4"
                x2="24"
                y2="4"
                stroke={STROKES[i % STROKES.length]}
                strokeWidth="2"
                strokeDasharray={DASHES[i % DASHES.length]!.join(' ')}
              />
            </svg>
            {line.label}: <strong>{format(latest(line.values))}</strong>
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** The chart in words, for screen readers: each line's latest value. */
function summary(props: ChartProps, format: (v: number | null) => string): string {
  return props.lines.map((l) => `${l.label} latest ${format(latest(l.values))}`).join('; ');
}

/**
 * How the dashboard writes numbers, time ranges and web-vitals ratings.
 */
import type { VitalName } from './api.js';

/** The time ranges offered, in hours (sent as the decimal `hours` parameter). */
export const RANGES: ReadonlyArray<{ hours: number; label: string }> = [
  { hours: 0.25, label: '15 minutes' },
  { hours: 1, label: '1 hour' },
  { hours: 6, label: '6 hours' },
  { hours: 24, label: '24 hours' },
  { hours: 168, label: '7 days' },
  { hours: 720, label: '30 days' },
];

/** The label of `hours` (a range not offered is written in hours). */
export function rangeLabel(hours: number): string {
  return RANGES.find((r) => r.hours === hours)?.label ?? `${hours} hours`;
}

const DASH = '–';

function fixed(value: number, digits: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A plain number (counts, rates), `–` when there is none. */
export function number(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  if (Math.abs(value) >= 1e6) return `${fixed(value / 1e6, 2)}M`;
  if (Math.abs(value) >= 1e4) return `${fixed(value / 1e3, 1)}k`;
  return fixed(value, digits);
}

/** A share in percent. */
export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return `${fixed(value, value < 10 ? 1 : 0)} %`;
}

/** A duration in milliseconds: `820 ms`, `1.25 s`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  if (Math.abs(ms) >= 1000) return `${fixed(ms / 1000, 2)} s`;
  return `${fixed(ms, ms < 10 ? 1 : 0)} ms`;
}

/** Money in US dollars, with the precision small AI bills need. */
export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  const digits = value !== 0 && Math.abs(value) < 1 ? 4 : 2;
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: digits })}`;
}

/** A web vital's value in its unit: CLS unitless, the others in time. */
export function vital(name: VitalName, value: number | null | undefined): string {
  if (name === 'CLS') return value === null || value === undefined ? DASH : fixed(value, 3);
  return duration(value);
}

/** A clock time, local: `14:05:09`. */
export function clock(atMs: number): string {
  return new Date(atMs).toLocaleTimeString('en-GB', { hour12: false });
}

/** Date and time, local, short: `26 Nov 14:05`. */
export function dateTime(atMs: number): string {
  return new Date(atMs).toLocaleString('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** web-vitals' thresholds: at most the first is good, above the second poor. */
export const THRESHOLDS: Record<VitalName, readonly [number, number]> = {
  LCP: [2500, 4000],
  INP: [200, 500],
  CLS: [0.1, 0.25],
  FCP: [1800, 3000],
  TTFB: [800, 1800],
};

export type Rating = 'good' | 'needs-improvement' | 'poor';

/** web-vitals' rating of `value`. */
export function rating(name: VitalName, value: number): Rating {
  const [good, poor] = THRESHOLDS[name];
  if (value <= good) return 'good';
  return value <= poor ? 'needs-improvement' : 'poor';
}

/** A rating in words (shown beside the colour, never instead of it). */
export function ratingLabel(r: Rating): string {
  return r === 'needs-improvement' ? 'needs improvement' : r;
}

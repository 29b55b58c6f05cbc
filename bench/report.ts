/** Medians, percentiles and the printed table of `npm run bench`. */

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export type Row = [figure: string, ...cells: string[]];

/** A Markdown table, so the README can quote it as printed. */
export function table(header: Row, rows: Row[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: Row) => `| ${header.map((_, i) => (row[i] ?? '').padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export const fixed = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '—');

/** A difference, with its sign always shown. */
export const signed = (value: number, digits = 0) => (value >= 0 ? `+${fixed(value, digits)}` : fixed(value, digits));

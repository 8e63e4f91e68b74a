/**
 * Figures from interleaved rounds: the median of each side's rounds, and the lines that print
 * them with their ratios. Medians rather than means: one round disturbed by the machine (a GC,
 * another process) moves a mean, not a median.
 */

/** The median (the mean of the middle two for an even count); NaN for no figures. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A figure as a whole number, right-aligned in `width`. */
function whole(x: number, width: number): string {
  return x.toFixed(0).padStart(width);
}

export interface Versus {
  /** What stands before the two figures (the measurement's name, padded; or an indent). */
  readonly prefix: string;
  readonly unit: string;
  /** Width of each figure. */
  readonly width: number;
  /** torsion's label and figure. */
  readonly ours: readonly [string, number];
  /** The peer's label and figure. */
  readonly theirs: readonly [string, number];
}

/** `<prefix>torsion 1234 req/s   node:http 1200 req/s   ratio 1.028`: two sides and ours/theirs. */
export function versusLine(v: Versus): string {
  const [a, x] = v.ours;
  const [b, y] = v.theirs;
  return `${v.prefix}${a} ${whole(x, v.width)} ${v.unit}   ${b} ${whole(y, v.width)} ${v.unit}   ratio ${(x / y).toFixed(3)}`;
}

export interface FigureRow {
  readonly label: string;
  readonly value: number;
  /** The name of this row's ratio (the first row's figure over this one's), where it has one. */
  readonly ratio?: string;
}

export interface TableLayout {
  readonly indent: string;
  readonly labelWidth: number;
  readonly valueWidth: number;
}

/** One line a row: label, figure, and the first row's figure over this row's where `ratio` names it. */
export function figureTable(rows: readonly FigureRow[], layout: TableLayout): string[] {
  const base = rows[0]?.value ?? NaN;
  return rows.map((row) => {
    const ratio = row.ratio === undefined ? "" : `   ${row.ratio} ${(base / row.value).toFixed(2)}`;
    return `${layout.indent}${row.label.padEnd(layout.labelWidth)} ${whole(row.value, layout.valueWidth)}${ratio}`;
  });
}

/** One row of the report, and how its numbers are written. */
export interface Figure {
  name: string;
  value: number | null;
  unit: string;
  /** Shown instead of the value (e.g. "not done after 60 s (4,210/5,000)"). */
  text?: string;
  goal?: string;
  met?: boolean;
  raw?: number;
  ratio?: number;
}

export const fmt = (n: number | null | undefined) =>
  n === null || n === undefined || !Number.isFinite(n)
    ? '–'
    : Math.abs(n) >= 100
      ? Math.round(n).toLocaleString('en-US')
      : String(Math.round(n * 10) / 10);

/**
 * Durations as people write them in a model config ("7 days", "10 minutes", "90s", "1h 30m"), parsed to
 * milliseconds. Our own small parser rather than `ms`, because a config error must name the accepted units, and
 * because it runs inside the workflow sandbox (pure, no dependencies).
 */

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

export const DURATION_HELP = 'a duration such as "30 seconds", "10 minutes", "1h 30m", "7 days" or "2 weeks" (units: ms, s, m, h, d, w)';

/** Milliseconds for a duration string or a number of milliseconds; undefined when it cannot be read. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  const text = input.trim().toLowerCase();
  if (!text) return undefined;
  const part = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (!m) return undefined;
    const unit = UNITS[m[2]];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    pos = part.lastIndex;
    if (text[pos] === ',') pos++;
    while (text[pos] === ' ') pos++;
  }
  return Math.round(total);
}

const FORMAT_UNITS = [
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;

/**
 * A compact human form of a duration in milliseconds, in the units `parseDuration` reads back: "2d 3h", "45s",
 * "1w". By default the two largest units, rounded to the second (status lines and reports); with `exact`, every unit
 * down to the millisecond, so a configured duration is shown as it is ("1h 30m 15s", "1s 500ms").
 */
export function formatDuration(ms: number, options: { readonly exact?: boolean } = {}): string {
  if (!(ms >= 0) || !Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = options.exact ? Math.round(ms) : Math.round(ms / 1000) * 1000;
  for (const [unit, size] of FORMAT_UNITS) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (!options.exact && parts.length === 2) break;
  }
  return parts.join(' ');
}

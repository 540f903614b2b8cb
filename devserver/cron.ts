/**
 * Time matching for Schedules and cron workflows, written for this server (no dependency): calendar specs (structured
 * ranges, and the string form and cron strings they are parsed from, with the Schedules flavour's rules), interval
 * specs, a compiled ScheduleSpec (start/end time, exclusions, deterministic jitter) and the classic cron schedule of
 * StartWorkflowExecution (five fields, descriptors, `@every`, day-of-month OR day-of-week as in standard cron), all
 * in UTC or an IANA time zone through Intl. Times are epoch milliseconds with one-second resolution, as on the real
 * server.
 */
import { duration as durationOf, temporal } from './proto';

type IRange = temporal.api.schedule.v1.IRange;
type IStructuredCalendarSpec = temporal.api.schedule.v1.IStructuredCalendarSpec;
type ICalendarSpec = temporal.api.schedule.v1.ICalendarSpec;
type IIntervalSpec = temporal.api.schedule.v1.IIntervalSpec;
type IScheduleSpec = temporal.api.schedule.v1.IScheduleSpec;

/** The first and last calendar years a spec can match, as on the real server. */
export const MIN_CALENDAR_YEAR = 2000;
export const MAX_CALENDAR_YEAR = 2100;
const MAX_TIME = Date.UTC(MAX_CALENDAR_YEAR + 1, 0, 1);

// ---- time zones ----------------------------------------------------------------------------------------------------

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** Throws a RangeError for a time zone name Intl does not know. '' and 'UTC' are UTC. */
export function checkTimeZone(tz: string): void {
  if (tz && tz !== 'UTC') zoneFormat(tz);
}

function zoneFormat(tz: string): Intl.DateTimeFormat {
  let f = zoneFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zoneFormats.set(tz, f);
  }
  return f;
}

/** Wall-clock time in `tz` minus the instant, in ms (0 for UTC). */
function zoneOffset(tz: string, instant: number): number {
  if (!tz || tz === 'UTC') return 0;
  const parts: Record<string, number> = {};
  for (const p of zoneFormat(tz).formatToParts(new Date(instant))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The instant a wall-clock time in `tz` names (the earlier one when a DST change repeats it), or undefined when a DST gap skips it. */
function wallToInstant(tz: string, wall: number): number | undefined {
  if (!tz || tz === 'UTC') return wall;
  const early = wall - zoneOffset(tz, wall - zoneOffset(tz, wall) - 3600_000);
  const late = wall - zoneOffset(tz, wall - zoneOffset(tz, wall));
  for (const instant of early <= late ? [early, late] : [late, early]) if (instant + zoneOffset(tz, instant) === wall) return instant;
  return undefined;
}

// ---- calendars -----------------------------------------------------------------------------------------------------

/** A set of small integers; years are a list, where an empty list means every year. */
class FieldSet {
  private readonly values = new Set<number>();
  constructor(
    ranges: IRange[] | null | undefined,
    private readonly all = false,
  ) {
    for (const r of ranges ?? []) {
      const start = r.start ?? 0;
      const end = Math.max(r.end ?? 0, start);
      const step = r.step && r.step > 0 ? r.step : 1;
      for (let v = start; v <= end; v += step) this.values.add(v);
    }
  }

  has(v: number): boolean {
    return this.all || this.values.has(v);
  }

  get restricted(): boolean {
    return !this.all;
  }
}

/** A compiled calendar: a time matches when every field matches (or, for classic cron, day of month OR day of week). */
export class CalendarMatcher {
  private readonly second: FieldSet;
  private readonly minute: FieldSet;
  private readonly hour: FieldSet;
  private readonly dayOfMonth: FieldSet;
  private readonly month: FieldSet;
  private readonly year: FieldSet;
  private readonly dayOfWeek: FieldSet;

  constructor(
    spec: IStructuredCalendarSpec,
    private readonly tz: string = '',
    /** Classic cron: when both day fields are restricted, either may match. */
    private readonly dayOr = false,
  ) {
    this.second = new FieldSet(spec.second);
    this.minute = new FieldSet(spec.minute);
    this.hour = new FieldSet(spec.hour);
    this.dayOfMonth = new FieldSet(spec.dayOfMonth);
    this.month = new FieldSet(spec.month);
    this.year = new FieldSet(spec.year, !spec.year?.length);
    // Sunday is 0; 7 is accepted as Sunday too.
    const dow = new FieldSet(spec.dayOfWeek);
    this.dayOfWeek = dow.has(7) && !dow.has(0) ? new FieldSet([...(spec.dayOfWeek ?? []), { start: 0 }]) : dow;
  }

  private dayMatches(d: Date): boolean {
    const dom = this.dayOfMonth.has(d.getUTCDate());
    const dow = this.dayOfWeek.has(d.getUTCDay());
    return this.dayOr ? dom || dow : dom && dow;
  }

  /** Whether an instant matches (to the second). */
  matches(instant: number): boolean {
    const d = new Date(instant + zoneOffset(this.tz, instant));
    return (
      this.year.has(d.getUTCFullYear()) &&
      this.month.has(d.getUTCMonth() + 1) &&
      this.dayMatches(d) &&
      this.hour.has(d.getUTCHours()) &&
      this.minute.has(d.getUTCMinutes()) &&
      this.second.has(d.getUTCSeconds())
    );
  }

  /** The first matching instant strictly after `after`, or undefined if none before the last calendar year ends. */
  next(after: number): number | undefined {
    let from = after;
    for (let guard = 0; guard < 1000; guard++) {
      const wall = this.nextWall(Math.floor((from + zoneOffset(this.tz, from)) / 1000) * 1000 + 1000);
      if (wall === undefined) return undefined;
      const instant = wallToInstant(this.tz, wall);
      // A wall time a DST gap skips does not happen; one before `after` (a repeated hour) already did.
      if (instant !== undefined && instant > after) return instant;
      from = instant !== undefined ? Math.max(instant, from + 1000) : wall - zoneOffset(this.tz, wall) + 1000;
    }
    return undefined;
  }

  /** The first matching wall-clock time (as a UTC epoch) at or after `t`: fields from the year down, carrying over. */
  private nextWall(t: number): number | undefined {
    while (t < MAX_TIME) {
      const d = new Date(t);
      const y = d.getUTCFullYear();
      const mo = d.getUTCMonth();
      const day = d.getUTCDate();
      const h = d.getUTCHours();
      const mi = d.getUTCMinutes();
      if (y > MAX_CALENDAR_YEAR) return undefined;
      if (!this.year.has(y)) t = Date.UTC(y + 1, 0, 1);
      else if (!this.month.has(mo + 1)) t = Date.UTC(y, mo + 1, 1);
      else if (!this.dayMatches(d)) t = Date.UTC(y, mo, day + 1);
      else if (!this.hour.has(h)) t = Date.UTC(y, mo, day, h + 1);
      else if (!this.minute.has(mi)) t = Date.UTC(y, mo, day, h, mi + 1);
      else if (!this.second.has(d.getUTCSeconds())) t += 1000;
      else return t;
    }
    return undefined;
  }
}

// ---- parsing calendar strings --------------------------------------------------------------------------------------

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

type Mode = 'int' | 'year' | 'month' | 'dow';

function parseValue(text: string, min: number, max: number, mode: Mode): number {
  const lower = text.trim().toLowerCase();
  // Names by prefix: three letters for months, two for days (as the real server accepts them).
  if (mode === 'month' && lower.length >= 3) {
    const i = MONTHS.findIndex((m) => m.startsWith(lower));
    if (i >= 0) return i + 1;
  }
  if (mode === 'dow' && lower.length >= 2) {
    const i = DAYS.findIndex((m) => m.startsWith(lower));
    if (i >= 0) return i;
  }
  if (!/^\d+$/.test(lower)) throw new Error(`"${text}" is not a number`);
  const v = Number(lower);
  if (v < min || v > max) throw new Error(`out of range`);
  return v;
}

/**
 * Parses one calendar field (`*`, `x`, `x-z`, `x-z/y`, `x/y`, lists of these) into ranges. An empty string means
 * `def`. `*` for the year is the empty list (every year).
 */
export function parseRanges(text: string | null | undefined, field: string, def: string, min: number, max: number, mode: Mode): IRange[] {
  const s = (text ?? '').trim() || def;
  if (s === '*' && mode === 'year') return [];
  const out: IRange[] = [];
  for (const part of s.split(',')) {
    const slash = part.split('/');
    if (slash.length > 2) throw new Error(`${field} has too many slashes`);
    let step = 1;
    if (slash.length === 2) {
      if (!/^\d+$/.test(slash[1].trim()) || Number(slash[1]) < 1) throw new Error(`${field} has invalid Step`);
      step = Number(slash[1]);
    }
    const body = slash[0].trim();
    let start = min;
    let end = max;
    if (body !== '*') {
      const dash = body.split('-');
      if (dash.length > 2) throw new Error(`${field} has too many dashes`);
      try {
        start = parseValue(dash[0], min, max, mode);
      } catch {
        throw new Error(`${field} is not in range [${min}-${max}]`);
      }
      if (dash.length === 2) {
        try {
          end = parseValue(dash[1], start, max, mode);
        } catch {
          throw new Error(`${field} End is before Start or not in range [${min}-${max}]`);
        }
      } else if (slash.length === 1) {
        end = start;
      }
    }
    // Sunday as 7: keep the range within 0-6, adding 0 when 7 would have matched.
    if (mode === 'dow' && end === 7) {
      if ((7 - start) % step === 0 && !(step === 1 && start <= 1)) out.push({ start: 0 });
      if (start === 7) continue;
      end = 6;
    }
    // Defaults left out (end equal to start, step 1), as the real server stores them.
    out.push({ start, ...(end !== start ? { end } : {}), ...(step !== 1 ? { step } : {}) });
  }
  return out;
}

/** A CalendarSpec (strings) as a StructuredCalendarSpec. Unset fields: second, minute and hour 0; the rest `*`. */
export function calendarToStructured(cal: ICalendarSpec): IStructuredCalendarSpec {
  const errors: string[] = [];
  const field = (text: string | null | undefined, name: string, def: string, min: number, max: number, mode: Mode = 'int') => {
    try {
      return parseRanges(text, name, def, min, max, mode);
    } catch (e) {
      errors.push((e as Error).message);
      return [];
    }
  };
  const out: IStructuredCalendarSpec = {
    second: field(cal.second, 'Second', '0', 0, 59),
    minute: field(cal.minute, 'Minute', '0', 0, 59),
    hour: field(cal.hour, 'Hour', '0', 0, 23),
    dayOfMonth: field(cal.dayOfMonth, 'DayOfMonth', '*', 1, 31),
    month: field(cal.month, 'Month', '*', 1, 12, 'month'),
    year: field(cal.year, 'Year', '*', MIN_CALENDAR_YEAR, MAX_CALENDAR_YEAR, 'year'),
    dayOfWeek: field(cal.dayOfWeek, 'DayOfWeek', '*', 0, 7, 'dow'),
    comment: cal.comment ?? '',
  };
  if (errors.length) throw new Error(errors.join(', '));
  return out;
}

/** Checks a structured calendar's ranges against each field's bounds (the real server's messages). */
export function validateStructuredCalendar(s: IStructuredCalendarSpec): void {
  const errors: string[] = [];
  const check = (ranges: IRange[] | null | undefined, name: string, min: number, max: number) => {
    for (const r of ranges ?? []) {
      const start = r.start ?? 0;
      if (start < min || start > max) errors.push(`${name} Start is not in range [${min}-${max}]`);
      if (r.end && (r.end < start || r.end > max)) errors.push(`${name} End is before Start or not in range [${min}-${max}]`);
      if ((r.step ?? 0) < 0) errors.push(`${name} has invalid Step`);
    }
  };
  check(s.second, 'Second', 0, 59);
  check(s.minute, 'Minute', 0, 59);
  check(s.hour, 'Hour', 0, 23);
  check(s.dayOfMonth, 'DayOfMonth', 1, 31);
  check(s.month, 'Month', 1, 12);
  check(s.year, 'Year', MIN_CALENDAR_YEAR, MAX_CALENDAR_YEAR);
  check(s.dayOfWeek, 'DayOfWeek', 0, 6);
  if ((s.comment ?? '').length > 200) errors.push('comment is too long');
  if (errors.length) throw new Error(`invalid calendar spec: ${errors.join(', ')}`);
}

/** A Go-style duration ("1h30m", "90s", "2h") in ms; also a bare number of seconds. */
export function parseGoDuration(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * units[m[2]];
    matched = re.lastIndex;
  }
  if (!t || matched !== t.length) throw new Error(`invalid duration "${text}"`);
  return total;
}

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A time zone prefix (`TZ=` or `CRON_TZ=`) split from a cron string. */
function splitZone(text: string): { tz: string | undefined; rest: string } {
  const c = text.trim();
  if (!/^(CRON_)?TZ=/.test(c)) return { tz: undefined, rest: c };
  const space = c.indexOf(' ');
  if (space < 0) throw new Error('CronString has time zone but missing fields');
  return { tz: c.slice(c.indexOf('=') + 1, space), rest: c.slice(space + 1).trim() };
}

/**
 * A Schedule's cron string, the Schedules flavour: optional `TZ=`, a `#` comment, `@every 1h[/15m]`, the
 * descriptors, or 5 (minute hour day-of-month month day-of-week), 6 (+ year) or 7 (second first, + year) fields.
 */
export function parseScheduleCronString(text: string): { calendar?: IStructuredCalendarSpec; interval?: IIntervalSpec; tz: string | undefined } {
  const { tz, rest } = splitZone(text);
  const hash = rest.indexOf('#');
  const body = (hash >= 0 ? rest.slice(0, hash) : rest).trim();
  const comment = hash >= 0 ? rest.slice(hash + 1).trim() : '';
  if (body.startsWith('@every')) {
    const arg = body.slice('@every'.length).trim();
    if (!arg) throw new Error('CronString does not have interval after @every');
    const [every, phase] = arg.split('/');
    const interval: IIntervalSpec = { interval: durationOf(parseGoDuration(every)) };
    if (phase) interval.phase = durationOf(parseGoDuration(phase));
    return { interval, tz: undefined };
  }
  const fields = (DESCRIPTORS[body] ?? body).split(/\s+/).filter(Boolean);
  const cal: ICalendarSpec = { comment };
  if (fields.length === 5) [cal.minute, cal.hour, cal.dayOfMonth, cal.month, cal.dayOfWeek] = fields;
  else if (fields.length === 6) [cal.minute, cal.hour, cal.dayOfMonth, cal.month, cal.dayOfWeek, cal.year] = fields;
  else if (fields.length === 7) [cal.second, cal.minute, cal.hour, cal.dayOfMonth, cal.month, cal.dayOfWeek, cal.year] = fields;
  else throw new Error('CronString does not have 5-7 fields');
  return { calendar: calendarToStructured(cal), tz };
}

function ms(d: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!d) return 0;
  return Number(d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / 1e6;
}

// ---- schedule specs ------------------------------------------------------------------------------------------------

/**
 * A ScheduleSpec in the canonical form the real server stores and describes: calendar strings and cron strings
 * parsed into structured calendars and intervals (a cron string's time zone moved to `timezoneName`), every part
 * validated. Throws an Error whose message suits INVALID_ARGUMENT.
 */
export function canonicalSpec(spec: IScheduleSpec): IScheduleSpec {
  const structured = [...(spec.structuredCalendar ?? [])];
  const excluded = [...(spec.excludeStructuredCalendar ?? [])];
  const intervals = [...(spec.interval ?? [])];
  for (const cal of spec.calendar ?? []) structured.push(calendarToStructured(cal));
  for (const cal of spec.excludeCalendar ?? []) excluded.push(calendarToStructured(cal));
  let cronTz: string | undefined;
  let first = true;
  for (const text of spec.cronString ?? []) {
    const parsed = parseScheduleCronString(text);
    if (!first && parsed.tz !== cronTz) throw new Error('conflicting timezone names');
    first = false;
    cronTz = parsed.tz;
    if (parsed.calendar) structured.push(parsed.calendar);
    if (parsed.interval) intervals.push(parsed.interval);
  }
  let timezoneName = spec.timezoneName ?? '';
  if (cronTz) {
    if (timezoneName && timezoneName !== cronTz) throw new Error('conflicting timezone names');
    timezoneName = cronTz;
  }
  try {
    checkTimeZone(timezoneName);
  } catch {
    throw new Error(`unknown time zone ${timezoneName}`);
  }
  for (const s of [...structured, ...excluded]) validateStructuredCalendar(s);
  for (const iv of intervals) {
    const every = ms(iv.interval);
    const phase = ms(iv.phase);
    if (every < 1000) throw new Error('interval is too small');
    if (phase < 0) throw new Error('phase is negative');
    if (phase >= every) throw new Error('phase cannot be greater than Interval');
  }
  return {
    structuredCalendar: structured,
    excludeStructuredCalendar: excluded,
    interval: intervals,
    startTime: spec.startTime ?? undefined,
    endTime: spec.endTime ?? undefined,
    jitter: spec.jitter ?? undefined,
    timezoneName,
  };
}

/** One matching time of a spec: the nominal time and the time it acts at, after jitter. */
export interface SpecTime {
  nominal: number;
  next: number;
}

/** A canonical ScheduleSpec compiled for matching. */
export class CompiledSpec {
  private readonly calendars: CalendarMatcher[];
  private readonly excludes: CalendarMatcher[];
  private readonly intervals: Array<{ every: number; phase: number }>;
  private readonly start: number | undefined;
  private readonly end: number | undefined;
  private readonly jitterMs: number;

  constructor(
    spec: IScheduleSpec,
    /** Seeds the jitter, so that each schedule's jitter differs but is stable. */
    private readonly jitterSeed: string = '',
  ) {
    const tz = spec.timezoneName ?? '';
    this.calendars = (spec.structuredCalendar ?? []).map((c) => new CalendarMatcher(c, tz));
    this.excludes = (spec.excludeStructuredCalendar ?? []).map((c) => new CalendarMatcher(c, tz));
    this.intervals = (spec.interval ?? []).map((iv) => ({ every: Math.max(1, Math.floor(ms(iv.interval) / 1000)), phase: Math.max(0, Math.floor(ms(iv.phase) / 1000)) }));
    this.start = spec.startTime ? ms(spec.startTime as never) : undefined;
    this.end = spec.endTime ? ms(spec.endTime as never) : undefined;
    this.jitterMs = ms(spec.jitter);
  }

  /** The earliest matching time strictly after `after` that no exclusion matches, within start/end; undefined if none. */
  getNextTime(after: number): SpecTime | undefined {
    // From just before the start time, so that the start time itself can match.
    let t = this.start !== undefined ? Math.max(after, this.start - 1000) : after;
    for (let guard = 0; guard < 100_000; guard++) {
      const nominal = this.rawNext(t);
      if (nominal === undefined || (this.end !== undefined && nominal > this.end) || nominal >= MAX_TIME) return undefined;
      if (this.excludes.some((x) => x.matches(nominal))) {
        t = nominal;
        continue;
      }
      let maxJitter = this.jitterMs;
      if (maxJitter > 0) {
        // Jitter never pushes an action past the next nominal time.
        const following = this.rawNext(nominal);
        if (following !== undefined) maxJitter = Math.min(maxJitter, following - nominal);
      }
      return { nominal, next: nominal + jitterFor(`${nominal}:${this.jitterSeed}`, maxJitter) };
    }
    return undefined;
  }

  private rawNext(after: number): number | undefined {
    let best: number | undefined;
    for (const c of this.calendars) {
      const n = c.next(after);
      if (n !== undefined && (best === undefined || n < best)) best = n;
    }
    const ts = Math.floor(after / 1000);
    for (const { every, phase } of this.intervals) {
      const n = (Math.floor((ts - phase) / every) + 1) * every + phase;
      if (best === undefined || n * 1000 < best) best = n * 1000;
    }
    return best;
  }
}

/** A deterministic jitter in [0, max) ms, whole milliseconds, from a FNV-1a hash of the key. */
function jitterFor(key: string, maxMs: number): number {
  if (maxMs <= 0) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return Math.floor((h / 2 ** 32) * Math.floor(maxMs));
}

// ---- classic cron (StartWorkflowExecution.cronSchedule) ------------------------------------------------------------

/** A workflow's cron schedule: the next matching time after a given one. */
export interface CronSchedule {
  next(after: number): number | undefined;
}

/**
 * Parses a workflow cron schedule the way the real server does (standard cron: minute hour day-of-month month
 * day-of-week, names allowed, `?` as `*`; the descriptors; `@every <duration>`; an optional `CRON_TZ=`/`TZ=` prefix).
 * When both day fields are restricted, a day matching either runs, as in standard cron. Throws on anything else.
 */
export function parseWorkflowCron(text: string): CronSchedule {
  const { tz, rest } = splitZone(text);
  const zone = tz ?? '';
  checkTimeZone(zone);
  if (rest.startsWith('@every')) {
    const every = parseGoDuration(rest.slice('@every'.length));
    if (every < 1000) throw new Error('@every needs at least one second');
    // A constant delay from the given time, to the whole second.
    return { next: (after) => Math.floor(after / 1000) * 1000 + Math.floor(every / 1000) * 1000 };
  }
  const fields = (DESCRIPTORS[rest] ?? rest).split(/\s+/).filter(Boolean);
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: ${rest}`);
  const [minute, hour, dom, month, dow] = fields.map((f) => (f === '?' ? '*' : f));
  // A field is "any" for the OR rule when it starts with * and has no step above 1.
  const star = (f: string) => /^\*(\/1)?$/.test(f);
  const spec: IStructuredCalendarSpec = {
    second: [{ start: 0 }],
    minute: parseRanges(minute, 'Minute', '*', 0, 59, 'int'),
    hour: parseRanges(hour, 'Hour', '*', 0, 23, 'int'),
    dayOfMonth: parseRanges(dom, 'DayOfMonth', '*', 1, 31, 'int'),
    month: parseRanges(month, 'Month', '*', 1, 12, 'month'),
    dayOfWeek: parseRanges(dow, 'DayOfWeek', '*', 0, 7, 'dow'),
  };
  const matcher = new CalendarMatcher(spec, zone, !star(dom) && !star(dow));
  return { next: (after) => matcher.next(after) };
}

/**
 * The delay before the next cron run, as the real server computes it: from the run's scheduled (execution) time, the
 * first match not before `now`; rounded up to whole seconds. Undefined when the schedule never matches again.
 */
export function cronBackoffMs(cron: CronSchedule, scheduledTime: number, now: number): number | undefined {
  let next: number | undefined;
  if (now < scheduledTime) next = scheduledTime;
  else {
    next = cron.next(scheduledTime);
    while (next !== undefined && next < now) next = cron.next(next);
  }
  if (next === undefined) return undefined;
  return Math.ceil((next - now) / 1000) * 1000;
}

/**
 * Instants as FHIR wants them: `YYYY-MM-DDThh:mm:ss[.fff]±hh:mm`, keeping the sender's wall-clock time
 * and offset (never converted to UTC: the offset says where the device was). When a sender gives no
 * offset, an IANA time zone from configuration decides it for that wall-clock time.
 */

/** A wall-clock time as sent, before any offset is known. `fraction` holds the digits after the point, as sent. */
export interface LocalDateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly fraction?: string;
}

/**
 * An offset from UTC. The sign is kept apart from the magnitude because `-00:00` is not `+00:00`:
 * RFC 3339's "unknown local offset" convention, which IHE PCD TF-2 C.4 adopts.
 */
export interface UtcOffset {
  readonly sign: '+' | '-';
  readonly hours: number;
  readonly minutes: number;
}

export const utc: UtcOffset = { sign: '+', hours: 0, minutes: 0 };

export function isCalendarValid(local: LocalDateTime): boolean {
  const { year, month, day, hour, minute, second } = local;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth && (local.fraction === undefined || /^\d{1,9}$/.test(local.fraction));
}

/** Offsets FHIR accepts: -14:00 .. +14:00. */
export function isOffsetValid(offset: UtcOffset): boolean {
  const total = offset.hours * 60 + offset.minutes;
  return offset.minutes < 60 && total <= 14 * 60;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

export function formatInstant(local: LocalDateTime, offset: UtcOffset): string {
  const date = `${pad(local.year, 4)}-${pad(local.month)}-${pad(local.day)}`;
  const time = `${pad(local.hour)}:${pad(local.minute)}:${pad(local.second)}`;
  const fraction = local.fraction === undefined ? '' : `.${local.fraction}`;
  return `${date}T${time}${fraction}${offset.sign}${pad(offset.hours)}:${pad(offset.minutes)}`;
}

/** A Date as a FHIR instant in UTC with milliseconds: the receive time, for protocols that carry no clock. */
export function instantFromDate(date: Date): string {
  return formatInstant(
    {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      second: date.getUTCSeconds(),
      fraction: String(date.getUTCMilliseconds()).padStart(3, '0'),
    },
    utc,
  );
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Minutes east of UTC in effect in `timeZone` at the UTC instant `epochMs`. */
function offsetMinutesAt(timeZone: string, epochMs: number): number {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(epochMs))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const wallAsUtc = Date.UTC(fields.year!, fields.month! - 1, fields.day!, fields.hour!, fields.minute!, fields.second!);
  return Math.round((wallAsUtc - Math.floor(epochMs / 1000) * 1000) / 60_000);
}

/**
 * The offset `timeZone` gives the wall-clock time `local`. Around a daylight-saving change a wall time
 * can exist twice (autumn: the earlier, summer-time reading is chosen, as java.time and Temporal
 * "compatible" do) or not at all (spring: the offset in force before the gap is used, so the wall time
 * is published exactly as the device showed it).
 */
export function offsetInTimeZone(local: LocalDateTime, timeZone: string): UtcOffset {
  const wallMs = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  const day = 24 * 60 * 60 * 1000;
  const before = offsetMinutesAt(timeZone, wallMs - day);
  const after = offsetMinutesAt(timeZone, wallMs + day);
  const consistent = [...new Set([before, after])].filter(
    (candidate) => offsetMinutesAt(timeZone, wallMs - candidate * 60_000) === candidate,
  );
  const minutes = consistent.length > 0 ? Math.max(...consistent) : before;
  const magnitude = Math.abs(minutes);
  return { sign: minutes < 0 ? '-' : '+', hours: Math.floor(magnitude / 60), minutes: magnitude % 60 };
}

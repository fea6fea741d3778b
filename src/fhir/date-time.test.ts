import { describe, expect, it } from 'vitest';
import { fhirDateTime } from '../../schemas/fhir.ts';
import { formatInstant, isCalendarValid, isOffsetValid, isTimeZone, offsetInTimeZone, utc, type LocalDateTime } from './date-time.ts';

const at = (text: string): LocalDateTime => {
  const [date, time] = text.split('T') as [string, string];
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const [hour, minute, second] = time.split(':').map(Number) as [number, number, number];
  return { year, month, day, hour, minute, second };
};

describe('formatInstant', () => {
  it('writes the wall-clock time with the given offset, never converting to UTC', () => {
    expect(formatInstant(at('2024-05-01T12:30:00'), { sign: '+', hours: 2, minutes: 0 })).toBe('2024-05-01T12:30:00+02:00');
    expect(formatInstant(at('2024-05-01T07:05:09'), { sign: '-', hours: 5, minutes: 30 })).toBe('2024-05-01T07:05:09-05:30');
  });

  it('keeps -00:00 (offset to local time unknown, RFC 3339; IHE PCD TF-2 C.4) apart from +00:00', () => {
    expect(formatInstant(at('2024-05-01T12:30:00'), { sign: '-', hours: 0, minutes: 0 })).toBe('2024-05-01T12:30:00-00:00');
    expect(formatInstant(at('2024-05-01T12:30:00'), utc)).toBe('2024-05-01T12:30:00+00:00');
  });

  it('keeps the fraction of a second digit for digit', () => {
    const instant = formatInstant({ ...at('2024-05-01T12:30:00'), fraction: '1230' }, utc);
    expect(instant).toBe('2024-05-01T12:30:00.1230+00:00');
    expect(fhirDateTime.safeParse(instant).success).toBe(true);
  });
});

describe('offsetInTimeZone', () => {
  it('finds summer and winter offsets', () => {
    expect(offsetInTimeZone(at('2024-07-01T12:00:00'), 'Europe/Berlin')).toEqual({ sign: '+', hours: 2, minutes: 0 });
    expect(offsetInTimeZone(at('2024-01-15T12:00:00'), 'Europe/Berlin')).toEqual({ sign: '+', hours: 1, minutes: 0 });
    expect(offsetInTimeZone(at('2024-01-15T12:00:00'), 'America/New_York')).toEqual({ sign: '-', hours: 5, minutes: 0 });
    expect(offsetInTimeZone(at('2024-01-15T12:00:00'), 'Asia/Kolkata')).toEqual({ sign: '+', hours: 5, minutes: 30 });
    expect(offsetInTimeZone(at('2024-01-15T12:00:00'), 'UTC')).toEqual(utc);
  });

  it('takes the earlier (summer-time) reading of a wall time that happens twice', () => {
    // Europe/Berlin, 2024-10-27: 03:00 CEST falls back to 02:00 CET, so 02:30 happens at +02:00 and at +01:00.
    expect(offsetInTimeZone(at('2024-10-27T02:30:00'), 'Europe/Berlin')).toEqual({ sign: '+', hours: 2, minutes: 0 });
  });

  it('uses the offset before the gap for a wall time that does not exist', () => {
    // Europe/Berlin, 2024-03-31: 02:00 CET jumps to 03:00 CEST; 02:30 never shows on a clock.
    expect(offsetInTimeZone(at('2024-03-31T02:30:00'), 'Europe/Berlin')).toEqual({ sign: '+', hours: 1, minutes: 0 });
  });

  it('is right the hour either side of a change', () => {
    expect(offsetInTimeZone(at('2024-03-31T01:59:59'), 'Europe/Berlin')).toEqual({ sign: '+', hours: 1, minutes: 0 });
    expect(offsetInTimeZone(at('2024-03-31T03:00:00'), 'Europe/Berlin')).toEqual({ sign: '+', hours: 2, minutes: 0 });
  });
});

describe('validity checks', () => {
  it('knows the calendar', () => {
    expect(isCalendarValid(at('2024-02-29T00:00:00'))).toBe(true);
    expect(isCalendarValid(at('2023-02-29T00:00:00'))).toBe(false);
    expect(isCalendarValid(at('2024-13-01T00:00:00'))).toBe(false);
    expect(isCalendarValid(at('2024-04-31T00:00:00'))).toBe(false);
    expect(isCalendarValid(at('2024-04-30T24:00:00'))).toBe(false);
  });

  it('accepts offsets FHIR accepts', () => {
    expect(isOffsetValid({ sign: '+', hours: 14, minutes: 0 })).toBe(true);
    expect(isOffsetValid({ sign: '+', hours: 14, minutes: 30 })).toBe(false);
    expect(isOffsetValid({ sign: '-', hours: 3, minutes: 60 })).toBe(false);
  });

  it('knows IANA time zone names', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  TerminologyDataError,
  additionalLoincCodings,
  allMetrics,
  allPanels,
  allUnits,
  findMetric,
  findPanel,
  findPanelOf,
  findUnit,
  findUnitsByUcum,
  isValidLoincCode,
  loincCheckDigit,
  mdcCodeFromTerm,
  mdcTermOf,
  metricRecords,
  panelRecords,
  parseTerminologyTables,
  unitRecords,
} from './index.ts';

/**
 * The LOINC check digit computed the way the LOINC Users' Guide describes it (double the odd
 * positions from the right, write them in front of the even positions, add all digits), written
 * independently of loincCheckDigit() so a bug in one does not hide a bug in the other.
 */
function loincCheckDigitByTheBook(body: string): number {
  const fromRight = [...body].reverse();
  const odd = fromRight.filter((_, i) => i % 2 === 0).reverse().join('');
  const even = fromRight.filter((_, i) => i % 2 === 1).reverse().join('');
  const digits = `${even}${(BigInt(odd) * 2n).toString()}`;
  const sum = [...digits].reduce((acc, d) => acc + Number(d), 0);
  return (10 - (sum % 10)) % 10;
}

function allLoincCodes(): string[] {
  return [
    ...metricRecords().flatMap((m) => [m.loinc, ...m.additionalLoinc]),
    ...panelRecords().map((p) => p.loinc),
  ].flatMap((l) => (l === undefined ? [] : [l.code]));
}

const rawTables = (): { metrics: { rows: Record<string, unknown>[] }; units: { rows: Record<string, unknown>[] }; panels: { rows: Record<string, unknown>[] } } => ({
  metrics: JSON.parse(readFileSync(new URL('./metrics.json', import.meta.url), 'utf8')),
  units: JSON.parse(readFileSync(new URL('./units.json', import.meta.url), 'utf8')),
  panels: JSON.parse(readFileSync(new URL('./panels.json', import.meta.url), 'utf8')),
});

describe('terminology tables', () => {
  it('cover at least the metrics of the reference table', () => {
    expect(allMetrics().length).toBeGreaterThanOrEqual(30);
    const required = [
      147842, 149530, 149546, 149522, 150456, 150448, 150021, 150022, 150023, 150033, 150034, 150035, 150037,
      150038, 150039, 150087, 151562, 151578, 151570, 150364, 150344, 151708, 152196, 151980, 151868, 151976,
      151973, 152424, 151975, 152004, 151586, 151832, 157784, 157924, 157884, 157993, 188736,
    ];
    const missing = required.filter((code) => findMetric({ mdcCode: code }) === undefined);
    expect(missing).toEqual([]);
  });

  it("give every metric a unit row whose UCUM code is the metric's", () => {
    for (const m of allMetrics()) {
      const unit = findUnit({ mdcCode: m.mdcUnitCode });
      expect(unit, `${m.refId} -> unit ${m.mdcUnitCode}`).toBeDefined();
      expect(unit?.ucum, m.refId).toBe(m.ucum);
    }
  });

  it('follow the code10 rule on every row', () => {
    for (const r of [...metricRecords(), ...unitRecords(), ...panelRecords()]) {
      expect(r.mdcCode, r.refId).toBe(r.partition * 65536 + r.term);
      expect(mdcTermOf(r.mdcCode), r.refId).toEqual({ partition: r.partition, term: r.term });
    }
  });

  it('keep units in partition 4 and measurements in partition 2 (SCADA)', () => {
    for (const u of unitRecords()) expect(u.partition, u.refId).toBe(4);
    for (const r of [...metricRecords(), ...panelRecords()]) expect(r.partition, r.refId).toBe(2);
  });

  it('use unique reference ids (aliases included) that start with MDC_', () => {
    const names = [
      ...metricRecords().flatMap((m) => [m.refId, ...m.aliases]),
      ...unitRecords().flatMap((u) => [u.refId, ...u.aliases]),
      ...panelRecords().map((p) => p.refId),
    ];
    for (const n of names) expect(n).toMatch(/^MDC_[A-Za-z0-9_]+$/);
    expect(new Set(names).size).toBe(names.length);
  });

  it('have no duplicate codes, within or across tables', () => {
    const codes = [...allMetrics(), ...allUnits(), ...allPanels()].map((r) => r.mdcCode);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('carry only LOINC codes whose mod-10 check digit is right', () => {
    const codes = allLoincCodes();
    expect(codes.length).toBeGreaterThan(15);
    for (const code of codes) {
      const [body, check] = code.split('-');
      expect(body, code).toMatch(/^\d{1,7}$/);
      expect(loincCheckDigitByTheBook(body ?? ''), code).toBe(Number(check));
      expect(isValidLoincCode(code), code).toBe(true);
    }
  });

  it('flag as vital signs only rows whose LOINC is in the FHIR R4 vital-signs value set', () => {
    // http://hl7.org/fhir/R4/valueset-observation-vitalsignresult.html
    const r4VitalSigns = new Set(['85353-1', '9279-1', '8867-4', '2708-6', '8310-5', '8302-2', '9843-4', '29463-7', '39156-5', '85354-9', '8480-6', '8462-4']);
    for (const r of [...allMetrics(), ...allPanels()]) {
      if (r.vitalSign) expect(r4VitalSigns.has(r.loinc?.code ?? ''), r.refId).toBe(true);
    }
  });

  it('name a source on every row and say what is uncertain on unverified rows', () => {
    for (const r of [...metricRecords(), ...unitRecords(), ...panelRecords()]) {
      expect(r.source.trim().length, r.refId).toBeGreaterThan(10);
      if (r.status === 'unverified') expect(r.note?.trim().length ?? 0, r.refId).toBeGreaterThan(10);
    }
  });

  it('build panels from components that exist as metrics, each in one panel', () => {
    expect(allPanels().length).toBeGreaterThanOrEqual(3);
    for (const p of allPanels()) {
      for (const c of p.componentCodes) {
        expect(findMetric({ mdcCode: c }), `${p.refId} component ${c}`).toBeDefined();
        expect(findPanelOf(c)?.mdcCode, `${c}`).toBe(p.mdcCode);
      }
    }
  });
});

describe('LOINC check digit', () => {
  it('agrees with the by-the-book computation on known codes and rejects a wrong digit', () => {
    for (const body of ['8867', '2708', '59408', '85354', '8480', '29463', '1', '1234567']) {
      expect(loincCheckDigit(body), body).toBe(loincCheckDigitByTheBook(body));
    }
    expect(isValidLoincCode('8867-4')).toBe(true);
    expect(isValidLoincCode('8867-5')).toBe(false);
    expect(isValidLoincCode('8867')).toBe(false);
    expect(() => loincCheckDigit('12a')).toThrow(RangeError);
  });
});

describe('mdcCodeFromTerm', () => {
  it('applies partition * 65536 + term', () => {
    expect(mdcCodeFromTerm(4, 544)).toBe(262688); // MDC_DIM_PERCENT
    expect(mdcCodeFromTerm(2, 19384)).toBe(150456); // MDC_PULS_OXIM_SAT_O2
    expect(() => mdcCodeFromTerm(2, 65536)).toThrow(RangeError);
    expect(() => mdcCodeFromTerm(-1, 1)).toThrow(RangeError);
  });
});

describe('lookups', () => {
  it('find a metric by code, by refId and by alias', () => {
    expect(findMetric({ mdcCode: 150456 })?.refId).toBe('MDC_PULS_OXIM_SAT_O2');
    expect(findMetric({ refId: 'MDC_PULS_OXIM_SAT_O2' })?.mdcCode).toBe(150456);
    expect(findMetric({ refId: 'MDC_ECG_CARD_BEAT_RATE' })?.mdcCode).toBe(147842);
    expect(findMetric({ refId: 'MDC_PRESS_AWAY_INSP_PEAK' })?.mdcCode).toBe(151817);
    expect(findMetric({ mdcCode: 147842, refId: 'MDC_ECG_CARD_BEAT_RATE' })?.refId).toBe('MDC_ECG_HEART_RATE');
  });

  it('find nothing for unknown or contradictory queries', () => {
    expect(findMetric({ mdcCode: 1 })).toBeUndefined();
    expect(findMetric({ refId: 'MDC_NO_SUCH_THING' })).toBeUndefined();
    expect(findMetric({ mdcCode: 150456, refId: 'MDC_RESP_RATE' })).toBeUndefined();
    expect(findMetric({})).toBeUndefined();
    expect(findUnit({})).toBeUndefined();
  });

  it('find a unit by code, refId, alias and UCUM', () => {
    expect(findUnit({ mdcCode: 262688 })?.ucum).toBe('%');
    expect(findUnit({ refId: 'MDC_DIM_MMHG' })?.ucum).toBe('mm[Hg]');
    expect(findUnit({ refId: 'MDC_DIM_L' })?.mdcCode).toBe(263744);
    expect(findUnit({ ucum: 'cm[H2O]' })?.mdcCode).toBe(266048);
    expect(findUnit({ ucum: 'Cel' })?.refId).toBe('MDC_DIM_DEGC');
    expect(findUnit({ mdcCode: 264864, ucum: '/min' })?.refId).toBe('MDC_DIM_BEAT_PER_MIN');
    expect(findUnit({ mdcCode: 264864, ucum: '%' })).toBeUndefined();
  });

  it('resolve a UCUM code shared by several MDC units to the declared default, and list them all', () => {
    expect(findUnit({ ucum: '/min' })?.refId).toBe('MDC_DIM_PER_MIN');
    expect(findUnitsByUcum('/min').map((u) => u.refId).sort()).toEqual([
      'MDC_DIM_BEAT_PER_MIN',
      'MDC_DIM_PER_MIN',
      'MDC_DIM_RESP_PER_MIN',
    ]);
    expect(findUnitsByUcum('furlong/fortnight')).toEqual([]);
  });

  it('find panels and the panel of a component', () => {
    const nibp = findPanel({ refId: 'MDC_PRESS_BLD_NONINV' });
    expect(nibp?.mdcCode).toBe(150020);
    expect(nibp?.loinc?.code).toBe('85354-9');
    expect(nibp?.componentCodes).toEqual([150021, 150022, 150023]);
    expect(findPanelOf(150038)?.refId).toBe('MDC_PRESS_BLD_ART_ABP');
    expect(findPanelOf(150456)).toBeUndefined();
  });

  it('expose extra LOINC codings where a row has them', () => {
    expect(additionalLoincCodings(150456).map((l) => l.code)).toEqual(['59408-5']);
    expect(additionalLoincCodings(151562)).toEqual([]);
  });

  it('return frozen rows', () => {
    const m = findMetric({ mdcCode: 150456 });
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(allMetrics())).toBe(true);
  });
});

describe('parseTerminologyTables rejects bad data, naming file, row and field', () => {
  const expectRejected = (mutate: (t: ReturnType<typeof rawTables>) => void, message: RegExp): void => {
    const t = rawTables();
    mutate(t);
    expect(() => parseTerminologyTables(t)).toThrow(TerminologyDataError);
    expect(() => parseTerminologyTables(t)).toThrow(message);
  };
  const row = (rows: Record<string, unknown>[], refId: string): Record<string, unknown> => {
    const found = rows.find((r) => r['refId'] === refId);
    if (found === undefined) throw new Error(`fixture row ${refId} missing`);
    return found;
  };

  it('accepts the shipped data', () => {
    expect(() => parseTerminologyTables(rawTables())).not.toThrow();
  });

  it('a code that breaks the code10 rule', () => {
    expectRejected((t) => {
      row(t.metrics.rows, 'MDC_RESP_RATE')['mdcCode'] = 151563;
    }, /metrics\.json rows\[\d+\] \(MDC_RESP_RATE\)\.mdcCode: .*partition\*65536\+term/);
  });

  it('a LOINC code with a wrong check digit', () => {
    expectRejected((t) => {
      row(t.metrics.rows, 'MDC_RESP_RATE')['loinc'] = { code: '9279-2', display: 'Respiratory rate' };
    }, /\(MDC_RESP_RATE\)\.loinc\.code: .*check digit/);
  });

  it('an unknown field', () => {
    expectRejected((t) => {
      row(t.units.rows, 'MDC_DIM_PERCENT')['symbol'] = '%';
    }, /units\.json rows\[\d+\] \(MDC_DIM_PERCENT\)/);
  });

  it('an unverified row without a note', () => {
    expectRejected((t) => {
      const r = row(t.metrics.rows, 'MDC_RESP_RATE');
      r['status'] = 'unverified';
      delete r['note'];
    }, /\(MDC_RESP_RATE\)\.note/);
  });

  it('a metric whose unit is missing or has another UCUM code', () => {
    expectRejected((t) => {
      row(t.metrics.rows, 'MDC_RESP_RATE')['mdcUnitCode'] = 262688;
    }, /MDC_RESP_RATE: ucum "\/min" differs from MDC_DIM_PERCENT/);
    expectRejected((t) => {
      t.units.rows = t.units.rows.filter((u) => u['refId'] !== 'MDC_DIM_CM_H2O');
    }, /mdcUnitCode 266048 is not in units\.json/);
  });

  it('a duplicate code or refId', () => {
    expectRejected((t) => {
      t.metrics.rows.push({ ...row(t.metrics.rows, 'MDC_RESP_RATE'), refId: 'MDC_RESP_RATE_COPY' });
    }, /mdcCode 151562 is already used/);
    expectRejected((t) => {
      row(t.metrics.rows, 'MDC_TEMP')['aliases'] = ['MDC_TEMP_BODY'];
    }, /refId\/alias MDC_TEMP_BODY is already used/);
  });

  it('a panel component that is not a metric', () => {
    expectRejected((t) => {
      row(t.panels.rows, 'MDC_PRESS_BLD_NONINV')['componentCodes'] = [150021, 150022, 999999];
    }, /component 999999 is not in metrics\.json/);
  });

  it('two units sharing a UCUM code without exactly one default', () => {
    expectRejected((t) => {
      delete row(t.units.rows, 'MDC_DIM_PER_MIN')['ucumDefault'];
    }, /UCUM "\/min" is shared by .*exactly one must set ucumDefault/);
  });
});

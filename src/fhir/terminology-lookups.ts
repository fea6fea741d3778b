/**
 * The terminology lookups the FHIR builders need, as one value they receive. Production code
 * passes the project's table (`defaultTerminology`); tests may pass a small table of their own.
 */
import * as table from '../terminology/index.ts';

export type TerminologyLookups = Pick<typeof table, 'findMetric' | 'findUnit' | 'findPanelOf' | 'additionalLoincCodings'>;

// A namespace import (not named imports) so this module loads even while a lookup is missing at runtime.
export const defaultTerminology: TerminologyLookups = table;

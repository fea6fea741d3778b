/**
 * fast-check arbitraries that damage real inputs: start from a fixture (bytes a device really sends)
 * and apply a few mutations, so most cases get past the first checks and reach deep code. Random
 * bytes alone rarely do (a random frame fails at byte 0). Shared by test/fuzz/hostile-input.test.ts
 * and scripts/fuzz.ts.
 */
import fc from 'fast-check';

export type Mutation =
  | { readonly kind: 'flip-bit'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set-byte'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number; readonly times: number }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array };

/**
 * Positions are fractions of the current length, so one mutation list fits inputs of any size.
 * Unbiased: fast-check's default bias towards small values would put most mutations at byte 0.
 */
const position = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((value) => value / 1_000_000);

/**
 * What to insert: the protocol's own special bytes (framing, delimiters), runs of digits that make
 * huge numbers and lengths, long runs of one byte, and random bytes.
 */
export function insertionArbitrary(specialBytes: readonly number[]): fc.Arbitrary<Uint8Array> {
  const special = specialBytes.length > 0 ? fc.constantFrom(...specialBytes) : fc.integer({ min: 0, max: 255 });
  return fc.oneof(
    fc.array(special, { minLength: 1, maxLength: 4 }).map((bytes) => Uint8Array.from(bytes)),
    fc.integer({ min: 10, max: 400 }).map((digits) => new Uint8Array(digits).fill(0x39)),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 3000 })).map(([value, count]) => new Uint8Array(count).fill(value)),
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
  );
}

export function mutationArbitrary(specialBytes: readonly number[]): fc.Arbitrary<(input: Buffer) => Mutation> {
  const fraction = (f: number, length: number) => Math.floor(f * length);
  return fc.oneof(
    fc.tuple(position, fc.integer({ min: 0, max: 7 })).map(([at, bit]) => (input: Buffer): Mutation => ({ kind: 'flip-bit', at: fraction(at, input.length), bit })),
    fc.tuple(position, fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...(specialBytes.length > 0 ? specialBytes : [0]))))
      .map(([at, value]) => (input: Buffer): Mutation => ({ kind: 'set-byte', at: fraction(at, input.length), value })),
    position.map((at) => (input: Buffer): Mutation => ({ kind: 'truncate', at: fraction(at, input.length) })),
    fc.tuple(position, fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 5 }))
      .map(([at, length, times]) => (input: Buffer): Mutation => ({ kind: 'duplicate', at: fraction(at, input.length), length, times })),
    fc.tuple(position, fc.integer({ min: 1, max: 50 })).map(([at, length]) => (input: Buffer): Mutation => ({ kind: 'delete', at: fraction(at, input.length), length })),
    fc.tuple(position, insertionArbitrary(specialBytes)).map(([at, bytes]) => (input: Buffer): Mutation => ({ kind: 'insert', at: fraction(at, input.length), bytes })),
  );
}

export function applyMutation(input: Buffer, mutation: Mutation): Buffer {
  switch (mutation.kind) {
    case 'flip-bit': {
      if (input.length === 0) return input;
      const copy = Buffer.from(input);
      copy[mutation.at] = copy[mutation.at]! ^ (1 << mutation.bit);
      return copy;
    }
    case 'set-byte': {
      if (input.length === 0) return input;
      const copy = Buffer.from(input);
      copy[mutation.at] = mutation.value;
      return copy;
    }
    case 'truncate':
      return input.subarray(0, mutation.at);
    case 'duplicate': {
      const piece = input.subarray(mutation.at, mutation.at + mutation.length);
      return Buffer.concat([input.subarray(0, mutation.at + piece.length), ...Array.from({ length: mutation.times }, () => piece), input.subarray(mutation.at + piece.length)]);
    }
    case 'delete':
      return Buffer.concat([input.subarray(0, mutation.at), input.subarray(mutation.at + mutation.length)]);
    case 'insert':
      return Buffer.concat([input.subarray(0, mutation.at), mutation.bytes, input.subarray(mutation.at)]);
    default:
      return mutation satisfies never;
  }
}

/**
 * A mutated input: one of the seeds (often several concatenated, as a stream carries them), then
 * 0..maxMutations mutations. A few cases are pure random bytes. The mutations are listed in the
 * value so a counterexample says what was done to which seed.
 */
export interface MutatedInput {
  readonly seedNames: readonly string[];
  readonly mutations: readonly Mutation[];
  readonly bytes: Buffer;
}

export function mutatedInputArbitrary(
  seeds: readonly { readonly name: string; readonly bytes: Buffer }[],
  options: { readonly specialBytes: readonly number[]; readonly maxMutations?: number; readonly maxSeeds?: number },
): fc.Arbitrary<MutatedInput> {
  if (seeds.length === 0) throw new Error('mutatedInputArbitrary needs at least one seed input');
  const seedIndexes = fc.array(fc.nat({ max: seeds.length - 1 }), { minLength: 1, maxLength: options.maxSeeds ?? 3 });
  const mutations = fc.array(mutationArbitrary(options.specialBytes), { maxLength: options.maxMutations ?? 6 });
  const mutated = fc.tuple(seedIndexes, mutations).map(([indexes, makers]): MutatedInput => {
    let bytes: Buffer = Buffer.concat(indexes.map((index) => seeds[index]!.bytes));
    const applied: Mutation[] = [];
    for (const make of makers) {
      const mutation = make(bytes);
      applied.push(mutation);
      bytes = applyMutation(bytes, mutation);
    }
    return { seedNames: indexes.map((index) => seeds[index]!.name), mutations: applied, bytes };
  });
  const random = fc.uint8Array({ maxLength: 2048 }).map((bytes): MutatedInput => ({ seedNames: [], mutations: [], bytes: Buffer.from(bytes) }));
  return fc.oneof({ arbitrary: mutated, weight: 9 }, { arbitrary: random, weight: 1 });
}

/** Cut points for feeding a stream in pieces, as sockets and serial ports deliver it. */
export const chunkSizesArbitrary = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 });

export function splitIntoChunks(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (let index = 0; offset < bytes.length; index += 1) {
    const size = sizes[index % sizes.length]!;
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** Short text for a counterexample: sizes and mutations, never the bytes (fixtures may look like patient data). */
export function describeInput(input: MutatedInput): string {
  return `seeds=[${input.seedNames.join(',')}] mutations=${JSON.stringify(input.mutations.map((m) => (m.kind === 'insert' ? { ...m, bytes: `${m.bytes.length} bytes` } : m)))} length=${input.bytes.length}`;
}

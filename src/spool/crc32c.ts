/**
 * CRC-32C (Castagnoli), table-driven. node:zlib has no crc32 on Node 20, and CRC-32C is what
 * storage formats use for the same job (Kafka record batches, ext4 metadata, iSCSI).
 */
const table = (() => {
  const entries = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte += 1) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    entries[byte] = crc >>> 0;
  }
  return entries;
})();

/** CRC-32C of `bytes`; pass a previous result as `crc` to continue over more bytes. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let state = ~crc >>> 0;
  for (let index = 0; index < bytes.length; index += 1) {
    state = (table[(state ^ (bytes[index] as number)) & 0xff] as number) ^ (state >>> 8);
  }
  return ~state >>> 0;
}

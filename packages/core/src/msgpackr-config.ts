/**
 * The one msgpackr configuration of the core (internal: not exported from the package). Standard
 * MessagePack only: no records, no structured clone, plain objects for maps. 64-bit integers
 * (uint64, int64) decode exactly: as numbers within [-2^53, 2^53], as BigInts beyond (msgpackr's
 * int64AsType 'auto'; 'number' rounded them). A BigInt encodes as int64, or uint64 above 2^63 - 1. Chosen over @msgpack/msgpack after measuring both on our messages
 * (bench/codec.mjs, figures in docs/benchmarks.md).
 */
import { Packr, Unpackr } from 'msgpackr';

export const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  encodeUndefinedAsNil: true,
  variableMapSize: true,
});

export const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  // 'auto' is implemented by msgpackr 2.x but missing from its type definitions.
  int64AsType: 'auto' as 'bigint',
});

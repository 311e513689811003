/**
 * The one msgpackr configuration of the core (internal: not exported from the package). Standard
 * MessagePack only: no records, no structured clone, plain objects for maps; 64-bit integers
 * decode as numbers when safe. Chosen over @msgpack/msgpack after measuring both on our messages
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

export const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

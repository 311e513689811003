#!/usr/bin/env node
// The package.json a package is published with: the repository's, without what only the
// repository can use. Run by npm as each package's prepack (`strip`) and postpack (`restore`)
// script, in the package's folder, so `npm pack` and `npm publish` both pack the stripped one.
//
// Stripped:
// - the `@openclaw-ipc/source` export condition: it points at ./src/index.ts, which is not in
//   the tarball; a consumer whose tools set that condition would resolve to a missing file, with
//   no fallback to the next condition (Node, TypeScript and bundlers all stop at the first match);
// - the prepack/postpack scripts themselves (they run this file, which is not in the tarball).
//
// `strip` keeps the repository's file as package.json.repo and `restore` moves it back. A backup
// left by an interrupted pack is the original: `strip` keeps it, and scripts/setup.mjs restores it.
// `npm publish` reads the manifest it sends to the registry after postpack, so the registry's
// metadata still lists the condition; what resolves modules (Node, TypeScript, bundlers) reads
// the installed package.json, the tarball's.
// Usage: node ../../scripts/publish-manifest.mjs strip|restore [package folder]
import {
  copyFileSync,
  existsSync,
  readFileSync,
  renameSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_CONDITION = '@openclaw-ipc/source';
export const BACKUP = 'package.json.repo';

/** `exports` without the source condition, at any depth of the conditions object. */
function withoutSourceCondition(exports) {
  if (exports === null || typeof exports !== 'object' || Array.isArray(exports)) return exports;
  return Object.fromEntries(
    Object.entries(exports)
      .filter(([key]) => key !== SOURCE_CONDITION)
      .map(([key, value]) => [key, withoutSourceCondition(value)]),
  );
}

/** The published manifest of a repository manifest (both parsed objects). */
export function publishManifest(manifest) {
  const out = { ...manifest };
  if (out.exports !== undefined) out.exports = withoutSourceCondition(out.exports);
  if (out.scripts) {
    const { prepack: _prepack, postpack: _postpack, ...scripts } = out.scripts;
    out.scripts = scripts;
    if (Object.keys(scripts).length === 0) delete out.scripts;
  }
  return out;
}

/**
 * Writes the published manifest into `dir`, keeping the repository's as package.json.repo.
 * package.json is replaced by a rename, so a reader never finds it missing or half written.
 */
export function strip(dir) {
  const file = join(dir, 'package.json');
  const backup = join(dir, BACKUP);
  if (!existsSync(backup)) {
    // The backup keeps the file's times, so the restored package.json does not look edited
    // (scripts/setup.mjs rebuilds a package whose package.json is newer than its dist).
    copyFileSync(file, backup);
    const { atime, mtime } = statSync(file);
    utimesSync(backup, atime, mtime);
  }
  const manifest = JSON.parse(readFileSync(backup, 'utf8'));
  const next = `${file}.next`;
  writeFileSync(next, `${JSON.stringify(publishManifest(manifest), null, 2)}\n`);
  renameSync(next, file);
}

/** Puts the repository's manifest back, if a pack left it aside. Returns whether it did. */
export function restore(dir) {
  const backup = join(dir, BACKUP);
  if (!existsSync(backup)) return false;
  renameSync(backup, join(dir, 'package.json'));
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, dir = process.cwd()] = process.argv.slice(2);
  if (command === 'strip') strip(resolve(dir));
  else if (command === 'restore') restore(resolve(dir));
  else {
    process.stderr.write('usage: publish-manifest.mjs strip|restore [package folder]\n');
    process.exit(2);
  }
}

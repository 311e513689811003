/**
 * Option names checked at run time. TypeScript rejects a misspelt option; a JavaScript caller
 * (or a value built at run time) gets INVALID_ARGUMENT naming the option and listing the known
 * ones, instead of an option silently ignored.
 */
import { IpcError } from './errors.js';

/**
 * The names of an options type, as an object literal typed against it: a name the type lacks is
 * an excess property and a name left out is a missing one, so the run-time list cannot drift
 * from the type.
 */
export type OptionNames<T> = { readonly [K in keyof T]-?: true };

/**
 * Other names (ws's, nng's, a link's own) for ideas that have one name here, for the error
 * message of a caller used to them.
 */
const CALLED_HERE: Readonly<Record<string, string>> = {
  maxFrameSize: 'maxMessageSize',
  maxPayload: 'maxMessageSize',
  recvMaxSize: 'maxMessageSize',
  maxSendSize: 'maxMessageSize',
  maxPreAuthPayload: 'maxPreAuthMessageSize',
  concurrency: 'maxConcurrent',
  maxOutboundBytes: 'maxQueuedBytes',
};

/**
 * Throws INVALID_ARGUMENT when `options` has a key not in `known`, naming it, the name it has
 * here if it is a known idea under another name (or a close spelling), and every known option.
 * `where` says whose options they are ('unix connect()').
 */
export function checkOptions(
  options: object | undefined,
  known: OptionNames<object> | readonly string[],
  where: string,
): void {
  if (options === undefined || options === null) return;
  const names: readonly string[] = Array.isArray(known) ? known : Object.keys(known);
  for (const key of Object.keys(options)) {
    if (names.includes(key)) continue;
    const suggestion = suggest(key, names);
    throw new IpcError(
      'INVALID_ARGUMENT',
      `${where}: unknown option "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; ` +
        `known options: ${[...names].sort().join(', ')}`,
      { details: { option: key, known: [...names].sort(), ...(suggestion ? { suggestion } : {}) } },
    );
  }
}

/** The known name meant by `key`: its name here, or one within two edits of it. */
function suggest(key: string, names: readonly string[]): string | undefined {
  const renamed = CALLED_HERE[key];
  if (renamed && names.includes(renamed)) return renamed;
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of names) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (option names are short). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = row;
  }
  return previous[b.length]!;
}

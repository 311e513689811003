// Bar charts made by the benchmarks from their own figures: text bars on a terminal, SVG files in
// docs/ when `node bench/run.mjs --write-docs` runs them. A program calls `chart(spec)` and prints
// what it returns. Under bench/run.mjs (OPENCLAW_BENCH_RUNNER=1) that is one marker line,
// `@@chart {json}`, which run.mjs turns into text bars for the terminal and into an SVG file plus
// an image link for the docs page; run alone, it is the text bars.

/**
 * @typedef {object} ChartSpec
 * @property {string} title  what the bars show, with "(lower is better)" or "(higher is better)"
 * @property {string[]} labels  one per bar
 * @property {number[]} values  one per bar, in `unit`
 * @property {string} unit  what a value is ("µs", "GB/s", "x the raw echo")
 * @property {number} [line]  a reference drawn across the bars (a target or the baseline's value)
 * @property {string} [lineLabel]  what the reference is
 */

const MARKER = '@@chart ';

/** What a program prints for a chart (see the file comment). @param {ChartSpec} spec */
export function chart(spec) {
  check(spec);
  return process.env.OPENCLAW_BENCH_RUNNER === '1' ? `${MARKER}${JSON.stringify(spec)}` : textBars(spec);
}

/** The spec of a marker line printed by `chart`, or undefined for any other line. */
export function parseChartLine(line) {
  return line.startsWith(MARKER) ? JSON.parse(line.slice(MARKER.length)) : undefined;
}

function check(spec) {
  if (spec.labels.length !== spec.values.length) throw new Error('chart: one label per value');
  if (!spec.values.every((v) => Number.isFinite(v) && v >= 0))
    throw new Error(`chart "${spec.title}": values must be finite and >= 0`);
}

const fmt = (v) =>
  v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2);

/** Horizontal text bars, 40 columns at most. @param {ChartSpec} spec */
export function textBars(spec) {
  const max = Math.max(...spec.values, spec.line ?? 0) || 1;
  const width = Math.max(...spec.labels.map((l) => l.length));
  const rows = spec.labels.map((label, i) => {
    const v = spec.values[i];
    const bar = '█'.repeat(Math.max(v > 0 ? 1 : 0, Math.round((v / max) * 40)));
    return `${label.padEnd(width)}  ${bar} ${fmt(v)} ${spec.unit}`;
  });
  const ref =
    spec.line === undefined ? [] : [`(${spec.lineLabel ?? 'reference'}: ${fmt(spec.line)} ${spec.unit})`];
  return [spec.title, ...rows, ...ref].join('\n');
}

const esc = (s) =>
  String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** A horizontal bar chart as a standalone SVG document. @param {ChartSpec} spec */
export function svgBars(spec) {
  check(spec);
  const labelWidth = Math.round(Math.min(340, 12 + 6.6 * Math.max(...spec.labels.map((l) => l.length))));
  const plot = 420;
  const valueWidth = 110;
  const barHeight = 20;
  const gap = 8;
  const top = 40;
  const width = Math.round(labelWidth + plot + valueWidth);
  const height = top + spec.labels.length * (barHeight + gap) + (spec.line === undefined ? 12 : 30);
  const max = Math.max(...spec.values, spec.line ?? 0) || 1;
  const x = (v) => labelWidth + (v / max) * plot;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${esc(spec.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="8" y="22" font-size="14" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  spec.labels.forEach((label, i) => {
    const y = top + i * (barHeight + gap);
    const v = spec.values[i];
    const ours = /openclaw-ipc|^ours/.test(label);
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 14}" text-anchor="end">${esc(label)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${Math.max(1, x(v) - labelWidth).toFixed(1)}" height="${barHeight}" fill="${ours ? '#2f6fb0' : '#9aa5b1'}"/>`,
      `<text x="${(x(v) + 6).toFixed(1)}" y="${y + 14}">${esc(`${fmt(v)} ${spec.unit}`)}</text>`,
    );
  });
  if (spec.line !== undefined) {
    const lx = x(spec.line).toFixed(1);
    const bottom = top + spec.labels.length * (barHeight + gap);
    parts.push(
      `<line x1="${lx}" y1="${top - 4}" x2="${lx}" y2="${bottom}" stroke="#c0392b" stroke-dasharray="4 3"/>`,
      `<text x="${lx}" y="${bottom + 14}" text-anchor="middle" fill="#c0392b">${esc(`${spec.lineLabel ?? 'reference'}: ${fmt(spec.line)}`)}</text>`,
    );
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

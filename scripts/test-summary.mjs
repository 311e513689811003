#!/usr/bin/env node
// Prints the closing lines of a Vitest JSON report: each failed test (file, name, first line of
// its error) and "N passed, N failed" (and skipped if any). CI shows only the tail of its log, so
// a failure must be named here, at the end.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const file = process.argv[2] ?? '.cache/vitest-results.json';
const label = process.argv[3] ?? 'tests';
const report = JSON.parse(readFileSync(file, 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;

const firstLine = (text) =>
  String(text ?? '')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .find((line) => line.trim() !== '')
    ?.trim()
    .slice(0, 300) ?? '';

for (const suite of report.testResults ?? []) {
  const where = relative(process.cwd(), suite.name);
  const failed = (suite.assertionResults ?? []).filter((t) => t.status === 'failed');
  // A file that failed to load (or whose hooks failed) has no failed test but a message.
  if (failed.length === 0 && suite.status === 'failed') {
    process.stdout.write(`FAILED ${where}: ${firstLine(suite.message)}\n`);
  }
  for (const t of failed) {
    process.stdout.write(`FAILED ${where} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}\n`);
  }
}
process.stdout.write(
  `${label}: ${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`,
);
process.exitCode = report.numFailedTests > 0 || !report.success ? 1 : 0;

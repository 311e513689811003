#!/usr/bin/env node
// Prints the closing line of a Vitest JSON report: "N passed, N failed" (and skipped if any).
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.cache/vitest-results.json';
const label = process.argv[3] ?? 'tests';
const report = JSON.parse(readFileSync(file, 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
process.stdout.write(
  `${label}: ${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`,
);
process.exitCode = report.numFailedTests > 0 || !report.success ? 1 : 0;

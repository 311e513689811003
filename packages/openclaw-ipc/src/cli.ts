#!/usr/bin/env node
import { main } from './cli/main.js';

main(process.argv.slice(2)).then((code) => {
  // Flush stdout before leaving; a finished command must not linger on open handles.
  process.stdout.write('', () => process.exit(code));
});

#!/usr/bin/env node
// `npx openclaw-ipc-build-nng`: builds this package's addon for this machine from the sources it
// carries (native/build.mjs), for a platform without a prebuild. See the README, "Platforms".
import '../native/build.mjs';

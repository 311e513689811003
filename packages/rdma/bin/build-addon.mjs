#!/usr/bin/env node
// `npx openclaw-ipc-build-rdma`: builds this package's addon for this machine from the sources it
// carries (native/build.mjs), for a Linux platform without a prebuild. See the README.
import '../native/build.mjs';

// The page script of the browser tests: the browser builds of @openclaw-ipc/ws and core, on
// `window.lib`, for the tests' page.evaluate calls.
import * as core from '@openclaw-ipc/core';
import * as ws from '@openclaw-ipc/ws';

(window as unknown as { lib: unknown }).lib = { ws, core };
(window as unknown as { ready: boolean }).ready = true;

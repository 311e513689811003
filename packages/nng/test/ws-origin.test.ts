// nng's ws:// listener cannot refuse a browser page's Origin: libnng 1.5.2 offers no hook at the
// upgrade, and closing the pipe from its pre-add notification deadlocked nng_close under load
// (the reaper blocked on a lock while close waited for it). So allowedOrigins is refused there
// rather than ignored, and docs/security.md says that nng+ws serves any page that can reach it.
import { IpcError } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { listenNng, RepSocket } from '../src/index.js';
import { address } from './helpers.js';

describe('nng ws:// and browser origins', () => {
  it('allowedOrigins on an nng ws:// listener is INVALID_ARGUMENT, before anything is bound', async () => {
    const rep = new RepSocket();
    try {
      expect(() => rep.listen(address('ws'), { allowedOrigins: ['https://app.example'] })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    } finally {
      rep.close();
    }
    const url = `nng+${address('ws')}`;
    const refused = await listenNng(url, { allowedOrigins: ['*'] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IpcError);
    expect((refused as IpcError).code).toBe('INVALID_ARGUMENT');
    expect((refused as IpcError).message).toContain('cannot refuse browser origins');
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect, IpcError, knownSchemes, listen, transportFor } from '../src/index.js';
import { tempDir } from './helpers.js';

describe('connect/listen by URL', () => {
  it('knows the built-in schemes', () => {
    expect(knownSchemes()).toEqual(expect.arrayContaining(['unix', 'nng+ipc', 'nng+tcp']));
  });

  it('rejects an unknown scheme with INVALID_ARGUMENT listing the known ones', async () => {
    const err = await connect('carrier-pigeon://coop/1').catch((e) => e);
    expect(err).toBeInstanceOf(IpcError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('unix:');
    expect(err.details.known).toEqual(knownSchemes());
  });

  it('rejects a string that is not a URL', () => {
    expect(() => transportFor('not a url')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('picks the unix transport for unix://', async () => {
    const url = `unix://${join(tempDir(), 'r.sock')}`;
    const server = await listen(url, { handlers: { twice: (n: number) => n * 2 } });
    const client = await connect(url);
    try {
      await expect(client.request('twice', 21)).resolves.toBe(42);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('rejects an unknown dialect naming the known ones', async () => {
    const err = await listen(`unix://${join(tempDir(), 'd.sock')}`, { dialect: 'klingon' }).catch((e) => e);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('msgpack');
  });
});

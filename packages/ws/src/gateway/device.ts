/**
 * Device identity for the gateway handshake: an Ed25519 key (node:crypto) kept in a file.
 * `publicKey` is base64url of the raw 32 bytes, the device id is the hex SHA-256 of them, and
 * the signature covers the v2 or v3 payload of wire-formats.md §2.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { IpcError } from '@openclaw-ipc/core';
import {
  type DeviceAuthFields,
  type DeviceProof,
  devicePayloadV2,
  devicePayloadV3,
} from './device-payload.js';

export * from './device-payload.js';

export class DeviceIdentity {
  /** Hex SHA-256 of the raw public key. */
  readonly id: string;
  /** base64url of the raw 32-byte public key. */
  readonly publicKey: string;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519')
      throw new IpcError('INVALID_ARGUMENT', 'device key must be Ed25519');
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    const raw = spki.subarray(spki.length - 32);
    this.publicKey = raw.toString('base64url');
    this.id = createHash('sha256').update(raw).digest('hex');
  }

  /** A fresh identity (not persisted). */
  static generate(): DeviceIdentity {
    return new DeviceIdentity(generateKeyPairSync('ed25519').privateKey);
  }

  /** Loads the key kept at `path` (PKCS#8 PEM), creating it (mode 0600) on first use. */
  static loadOrCreate(path: string): DeviceIdentity {
    if (existsSync(path)) {
      try {
        return new DeviceIdentity(createPrivateKey(readFileSync(path, 'utf8')));
      } catch (cause) {
        throw new IpcError('INVALID_ARGUMENT', `cannot read the device key at ${path}`, { cause });
      }
    }
    const identity = DeviceIdentity.generate();
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const pem = identity.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, pem, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
    return identity;
  }

  /** Signs `payload` (UTF-8); base64url of the 64-byte signature. */
  sign(payload: string): string {
    return sign(null, Buffer.from(payload, 'utf8'), this.privateKey).toString('base64url');
  }

  /** The `device` object of the connect params, signed over the v3 (default) or v2 payload. */
  prove(fields: DeviceAuthFields, version: 'v2' | 'v3' = 'v3'): DeviceProof {
    const payload = version === 'v3' ? devicePayloadV3(this.id, fields) : devicePayloadV2(this.id, fields);
    return {
      id: this.id,
      publicKey: this.publicKey,
      signature: this.sign(payload),
      signedAt: fields.signedAtMs,
      nonce: fields.nonce,
    };
  }
}

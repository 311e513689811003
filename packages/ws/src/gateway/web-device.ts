/**
 * Device identity for the gateway handshake on the web platform: an Ed25519 key in WebCrypto
 * (`crypto.subtle`), whose private half is a non-extractable CryptoKey — page script can sign
 * with it but never read it. It is kept in IndexedDB (database `openclaw-ipc`, store
 * `device-keys`, one record per key name) or supplied by the app. The proof is the same as
 * Node's DeviceIdentity gives: `publicKey` base64url of the raw 32 bytes, `id` their hex
 * SHA-256, the signature over the v2 or v3 payload of device-payload.ts (Ed25519 signatures are
 * deterministic, so both sign a payload to the same bytes: test/web-device.test.ts).
 */
import { IpcError } from '@openclaw-ipc/core';
import { bytesToBase64url, bytesToHex } from '../base64url.js';
import {
  type DeviceAuthFields,
  type DeviceProof,
  devicePayloadV2,
  devicePayloadV3,
} from './device-payload.js';

const ED25519 = { name: 'Ed25519' } as const;
const DB_NAME = 'openclaw-ipc';
const STORE = 'device-keys';

const subtle = (): SubtleCrypto => {
  const s = globalThis.crypto?.subtle;
  if (!s)
    throw new IpcError(
      'UNAVAILABLE',
      'WebCrypto (crypto.subtle) is not available: a secure context is needed',
    );
  return s;
};

/** An Ed25519 key pair whose public half can be exported (public keys always can). */
export interface DeviceKeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/**
 * An Ed25519 device identity on WebCrypto, for the gateway handshake in a browser (the
 * `device` option of the browser build's GatewayClient). Made by the static methods only.
 */
export class WebDeviceIdentity {
  private constructor(
    /** Hex SHA-256 of the raw public key. */
    readonly id: string,
    /** base64url of the raw 32-byte public key. */
    readonly publicKey: string,
    /** The key pair (its private key non-extractable unless the app made it otherwise). */
    readonly keys: DeviceKeyPair,
  ) {}

  /**
   * The identity of an Ed25519 key pair the app holds.
   * @throws IpcError INVALID_ARGUMENT when the keys are not Ed25519 signing keys.
   */
  static async fromKeyPair(keys: DeviceKeyPair): Promise<WebDeviceIdentity> {
    if (keys.privateKey?.algorithm?.name !== 'Ed25519' || keys.publicKey?.algorithm?.name !== 'Ed25519')
      throw new IpcError('INVALID_ARGUMENT', 'device keys must be an Ed25519 key pair');
    const raw = new Uint8Array(await subtle().exportKey('raw', keys.publicKey));
    const digest = new Uint8Array(await subtle().digest('SHA-256', raw));
    return new WebDeviceIdentity(bytesToHex(digest), bytesToBase64url(raw), keys);
  }

  /** A fresh identity with a non-extractable private key (not stored). */
  static async generate(): Promise<WebDeviceIdentity> {
    const keys = (await subtle().generateKey(ED25519, false, ['sign', 'verify'])) as CryptoKeyPair;
    return WebDeviceIdentity.fromKeyPair(keys);
  }

  /**
   * The identity of a PKCS#8 Ed25519 private key (as Node's DeviceIdentity keeps in its key
   * file, PEM-decoded), imported non-extractable.
   * @throws IpcError INVALID_ARGUMENT when the bytes are not an Ed25519 PKCS#8 key.
   */
  static async fromPkcs8(pkcs8: Uint8Array): Promise<WebDeviceIdentity> {
    try {
      // Only an extractable import tells the public key (the JWK's `x`); the kept key is not.
      const open = await subtle().importKey('pkcs8', pkcs8 as Uint8Array<ArrayBuffer>, ED25519, true, [
        'sign',
      ]);
      const { x } = await subtle().exportKey('jwk', open);
      const publicKey = await subtle().importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x }, ED25519, true, [
        'verify',
      ]);
      const privateKey = await subtle().importKey('pkcs8', pkcs8 as Uint8Array<ArrayBuffer>, ED25519, false, [
        'sign',
      ]);
      return WebDeviceIdentity.fromKeyPair({ privateKey, publicKey });
    } catch (cause) {
      if (cause instanceof IpcError) throw cause;
      throw new IpcError('INVALID_ARGUMENT', 'not an Ed25519 PKCS#8 private key', { cause });
    }
  }

  /**
   * The identity kept in IndexedDB under `name`, created (non-extractable) and stored on first
   * use. Two pages creating it at once end with the same key: the first stored wins.
   * @throws IpcError UNAVAILABLE without IndexedDB or WebCrypto Ed25519.
   */
  static async loadOrCreate(name = 'default'): Promise<WebDeviceIdentity> {
    const db = await openDatabase();
    try {
      const stored = await readKeys(db, name);
      if (stored) return WebDeviceIdentity.fromKeyPair(stored);
      const fresh = (await subtle().generateKey(ED25519, false, ['sign', 'verify'])) as CryptoKeyPair;
      const added = await addKeys(db, name, { privateKey: fresh.privateKey, publicKey: fresh.publicKey });
      return WebDeviceIdentity.fromKeyPair(added ? fresh : ((await readKeys(db, name)) ?? fresh));
    } finally {
      db.close();
    }
  }

  /** Removes the key kept under `name` from IndexedDB (the next loadOrCreate makes a new one). */
  static async forget(name = 'default'): Promise<void> {
    const db = await openDatabase();
    try {
      await request(db.transaction(STORE, 'readwrite').objectStore(STORE).delete(name));
    } finally {
      db.close();
    }
  }

  /** Signs `payload` (UTF-8); base64url of the 64-byte signature. */
  async sign(payload: string): Promise<string> {
    const signature = await subtle().sign(ED25519, this.keys.privateKey, new TextEncoder().encode(payload));
    return bytesToBase64url(new Uint8Array(signature));
  }

  /** The `device` object of the connect params, signed over the v3 (default) or v2 payload. */
  async prove(fields: DeviceAuthFields, version: 'v2' | 'v3' = 'v3'): Promise<DeviceProof> {
    const payload = version === 'v3' ? devicePayloadV3(this.id, fields) : devicePayloadV2(this.id, fields);
    return {
      id: this.id,
      publicKey: this.publicKey,
      signature: await this.sign(payload),
      signedAt: fields.signedAtMs,
      nonce: fields.nonce,
    };
  }
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function openDatabase(): Promise<IDBDatabase> {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!idb) throw new IpcError('UNAVAILABLE', 'IndexedDB is not available: supply the device keys instead');
  const open = idb.open(DB_NAME, 1);
  open.onupgradeneeded = () => {
    if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE);
  };
  try {
    return await request(open);
  } catch (cause) {
    throw new IpcError('UNAVAILABLE', `cannot open IndexedDB ${DB_NAME}`, { cause });
  }
}

async function readKeys(db: IDBDatabase, name: string): Promise<DeviceKeyPair | undefined> {
  const value = await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(name));
  return value as DeviceKeyPair | undefined;
}

/** Adds the keys unless `name` is taken; resolves whether they were added. */
async function addKeys(db: IDBDatabase, name: string, keys: DeviceKeyPair): Promise<boolean> {
  try {
    await request(db.transaction(STORE, 'readwrite').objectStore(STORE).add(keys, name));
    return true;
  } catch (cause) {
    if ((cause as DOMException | null)?.name === 'ConstraintError') return false;
    throw new IpcError('UNAVAILABLE', `cannot store the device key in IndexedDB ${DB_NAME}`, { cause });
  }
}

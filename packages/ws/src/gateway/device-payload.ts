/**
 * The device proof of the gateway handshake (wire-formats.md §2), without a key: the v2 and v3
 * payloads both the Node identity (device.ts, node:crypto) and the browser one (web-device.ts,
 * WebCrypto) sign, byte for byte the same.
 */

export interface DeviceAuthFields {
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  signedAtMs: number;
  /** The token (or device token) sent in `auth`; empty when none. */
  token?: string;
  nonce: string;
  platform?: string;
  deviceFamily?: string;
}

/** ASCII-lowercases and trims, as the gateway normalises platform and deviceFamily. */
const normalizeMeta = (value: string | undefined): string =>
  (value ?? '').trim().replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

/** `v2|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce` */
export function devicePayloadV2(deviceId: string, f: DeviceAuthFields): string {
  return [
    'v2',
    deviceId,
    f.clientId,
    f.clientMode,
    f.role,
    f.scopes.join(','),
    String(f.signedAtMs),
    f.token ?? '',
    f.nonce,
  ].join('|');
}

/** The v2 payload followed by `|platform|deviceFamily`, both ASCII-lowercased. */
export function devicePayloadV3(deviceId: string, f: DeviceAuthFields): string {
  return `${devicePayloadV2(deviceId, f).replace(/^v2/, 'v3')}|${normalizeMeta(f.platform)}|${normalizeMeta(f.deviceFamily)}`;
}

export interface DeviceProof {
  id: string;
  publicKey: string;
  signature: string;
  signedAt: number;
  nonce: string;
}

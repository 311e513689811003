/**
 * WebSocket close codes (RFC 6455 §7.4.1) and how they map to and from IpcError codes: the code
 * a link closes with tells the peer why, and a peer's code becomes the IpcError the link's
 * owner sees.
 */
import { IpcError } from '@openclaw-ipc/core';

/** Close codes of RFC 6455 used here. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
} as const;

/** The close code that tells the peer why (codes of RFC 6455 §7.4.1). */
export function closeCodeFor(error?: IpcError): number {
  switch (error?.code) {
    case undefined:
      return CloseCode.NORMAL;
    case 'MESSAGE_TOO_LARGE':
      return CloseCode.MESSAGE_TOO_BIG;
    case 'AUTH':
      return CloseCode.POLICY_VIOLATION;
    case 'CAPACITY':
      return CloseCode.TRY_AGAIN_LATER;
    case 'SERIALIZATION':
      return CloseCode.INVALID_PAYLOAD;
    case 'PROTOCOL':
      return CloseCode.PROTOCOL_ERROR;
    case 'CLOSED':
      return CloseCode.GOING_AWAY;
    default:
      return CloseCode.INTERNAL_ERROR;
  }
}

/** The IpcError for a close received from the peer (undefined for a clean close). */
export function errorForClose(code: number, reason: string): IpcError | undefined {
  if (code === CloseCode.NORMAL || code === CloseCode.GOING_AWAY) return undefined;
  const text = `closed by peer (${code}${reason ? ` ${reason}` : ''})`;
  const details = { closeCode: code, reason };
  switch (code) {
    case CloseCode.MESSAGE_TOO_BIG:
      return new IpcError('MESSAGE_TOO_LARGE', text, { details });
    case CloseCode.POLICY_VIOLATION:
      return new IpcError('AUTH', text, { details });
    case CloseCode.TRY_AGAIN_LATER:
      return new IpcError('CAPACITY', text, { details });
    case CloseCode.PROTOCOL_ERROR:
    case CloseCode.INVALID_PAYLOAD:
      return new IpcError('PROTOCOL', text, { details });
    default:
      return new IpcError('CLOSED', text, { details });
  }
}

/** The IpcError for an 'error' event of a ws WebSocket (ws's error codes, WS_ERR_*). */
export function errorForWsError(err: Error & { code?: string }): IpcError {
  const code = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'MESSAGE_TOO_LARGE' : 'PROTOCOL';
  return new IpcError(code, `websocket error: ${err.message}`, { cause: err, details: { wsCode: err.code } });
}

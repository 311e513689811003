/**
 * The names of the nng socket options, for the factory's run-time check (checkOptions); typed
 * against SocketOptions, so a name cannot be missing or extra. Internal: not exported by the
 * package.
 */
import type { OptionNames } from '@openclaw-ipc/core';
import type { SocketOptions } from './options.js';

export const socketOptionNames: OptionNames<SocketOptions> = {
  sendTimeout: true,
  recvTimeout: true,
  maxMessageSize: true,
  reconnectMinTime: true,
  reconnectMaxTime: true,
  sendBuffer: true,
  recvBuffer: true,
  tcpNoDelay: true,
  tcpKeepAlive: true,
};

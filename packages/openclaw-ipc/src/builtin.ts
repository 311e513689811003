/** Registers the transports shipped with openclaw-ipc. Imported for its effect. */
import { fileTransport } from '@openclaw-ipc/file';
import { nngTransport } from '@openclaw-ipc/nng';
import { rdmaTransport } from '@openclaw-ipc/rdma';
import { unixTransport } from '@openclaw-ipc/unix';
import { wsTransport } from '@openclaw-ipc/ws';
import { registerTransport } from './registry.js';

registerTransport(unixTransport);
registerTransport(nngTransport);
registerTransport(wsTransport);
registerTransport(fileTransport);
registerTransport(rdmaTransport);

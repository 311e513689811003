/** Names of the files in a channel directory, per role and mode. */
import { join } from 'node:path';

/** Which end of the channel: the backend serves requests, the frontend sends them. */
export type ChannelRole = 'backend' | 'frontend';

export const BACKEND_TO_FRONTEND = 'backend_to_frontend';
export const FRONTEND_TO_BACKEND = 'frontend_to_backend';

/** The direction a role writes (outbox) and the one it reads (inbox). */
export function directions(role: ChannelRole): { outbox: string; inbox: string } {
  return role === 'backend'
    ? { outbox: BACKEND_TO_FRONTEND, inbox: FRONTEND_TO_BACKEND }
    : { outbox: FRONTEND_TO_BACKEND, inbox: BACKEND_TO_FRONTEND };
}

/** The ipckit files of one direction: `<name>.json`, `<name>.lock`, `<name>.tmp`. */
export function ipckitFiles(dir: string, direction: string) {
  return {
    file: join(dir, `${direction}.json`),
    lock: join(dir, `${direction}.lock`),
    tmp: join(dir, `${direction}.tmp`),
    /** Ours, ignored by ipckit: how far our reader of this direction has read (see IpckitLink). */
    progress: join(dir, `${direction}.read`),
  };
}

export const channelInfoPath = (dir: string): string => join(dir, '.channel_info');

/** `.channel_info` as ipckit writes it (serde_json pretty, keys sorted). */
export const channelInfo = (created: number = Date.now()): string =>
  `{\n  "created": ${created},\n  "protocol": "file-ipc",\n  "version": "1.0"\n}`;

/** The journal folder of one direction. */
export const journalDir = (dir: string, direction: string): string => join(dir, 'journal', direction);

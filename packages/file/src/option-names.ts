/**
 * The names of the file package's options, for the run-time checks (checkOptions); typed against
 * the option types, so a name cannot be missing or extra. Internal: not exported by the package.
 */
import type { OptionNames } from '@openclaw-ipc/core';
import type { FileChannelOptions, FileLinkOptions } from './file-channel.js';

/** The names of {@link FileLinkOptions}, for the run-time checks. */
export const fileLinkOptionNames: OptionNames<FileLinkOptions> = {
  mode: true,
  maxMessageSize: true,
  highWaterMark: true,
  maxQueuedBytes: true,
  onError: true,
  pollInterval: true,
  watch: true,
  fileMode: true,
  sharedFolder: true,
  rememberIds: true,
  backlog: true,
  maxFileSize: true,
  progress: true,
  lock: true,
  name: true,
  maxBatchBytes: true,
  segmentSize: true,
  fsync: true,
  staleAfter: true,
  acquireTimeout: true,
  onCompromised: true,
  onStale: true,
};

export const channelOptionNames: OptionNames<FileChannelOptions> = {
  ...fileLinkOptionNames,
  dialect: true,
  server: true,
  client: true,
  handlers: true,
};

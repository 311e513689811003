// Node's own IPC channel: a child started by child_process.fork() answering each message with
// process.send(), the channel's serialization (json or advanced) chosen by the parent.
process.on('message', (m) => process.send(m));
process.on('disconnect', () => process.exit(0));

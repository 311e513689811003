export * from './cli.js';
export * from './client.js';
export * from './device.js';
export * from './protocol.js';
export * from './relay-link.js';
export * from './sync.js';
export * from './web-server.js';

export * from './providers/provider.js';

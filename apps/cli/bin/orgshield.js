#!/usr/bin/env node
// The published entry point: the compiled CLI lives in dist (npm run build).
import('../dist/main.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/main.js')) {
    console.error('orgshield is not built yet: run `npm run build` in the repository root first.');
    process.exit(2);
  }
  throw error;
});

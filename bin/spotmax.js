#!/usr/bin/env node
// Thin launcher so `npx spotmax` works from the repo root and from an install: the code lives in dist/.
import { main } from '../dist/main.js';

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`spotmax: internal error: ${err?.stack ?? err}`);
    process.exitCode = 2;
  },
);

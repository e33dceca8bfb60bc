#!/usr/bin/env node
// Thin launcher so `npx spotmax` works from the repo root and from an install: the code lives in dist/.

// The AWS SDK prints a NodeVersionSupportWarning in every process under Node < 22: SDK releases after
// the first week of January 2027 need Node 22. The SDK versions spotmax pins run on Node 20, which its
// `engines` allows, so the notice is silenced with the SDK's own switch (README, "Node versions");
// set AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false to see it. Set before the SDK loads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../dist/main.js');

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`spotmax: internal error: ${err?.stack ?? err}`);
    process.exitCode = 2;
  },
);

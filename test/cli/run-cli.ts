// The CLI as its own process, the way bin/spotmax.js runs it but from the sources (no build): tests that
// need a real process (its stdout closed under it, an environment without credentials) spawn this.
import { main } from '../../src/main.js';

main(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
});

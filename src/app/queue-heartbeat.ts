import type { QueuePort } from '../ports/queue.js';

/**
 * The queue with a heartbeat on every completed receive (messages or not, success or error): a long
 * poll returns at least every 20 s, so a receive loop that stops returning is a wedged loop, which is
 * what /healthz reports.
 */
export function withReceiveHeartbeat(queue: QueuePort, beat: () => void): QueuePort {
  return {
    receive: async (url, options) => {
      try {
        return await queue.receive(url, options);
      } finally {
        beat();
      }
    },
    delete: (url, handle) => queue.delete(url, handle),
    changeVisibility: (url, handle, seconds) => queue.changeVisibility(url, handle, seconds),
    send: (url, body) => queue.send(url, body),
    check: (url) => queue.check(url),
  };
}

/**
 * The longest the event loop was held while `work` ran: a chain of setImmediate turns notes the CPU time
 * (process.cpuUsage) and wall time (performance.now) between consecutive turns; the largest gap is the
 * longest stretch the fast path, sharing the loop, could not run. CPU time is the figure to read on a
 * shared machine: a neighbour taking the core stretches wall time, not this process's CPU time. The
 * heap is sampled at each turn too (its peak within the work). The turns keep the loop busy: do not time
 * the CPU of work measured this way.
 */
export async function loopHold<T>(
  work: () => Promise<T>,
): Promise<{ result: T; cpuMs: number; wallMs: number; peakHeapBytes: number }> {
  let done = false;
  let cpuMs = 0;
  let wallMs = 0;
  let peakHeapBytes = 0;
  let lastCpu = process.cpuUsage();
  let lastWall = performance.now();
  const turn = () => {
    if (done) return;
    const cpu = process.cpuUsage(lastCpu);
    const wall = performance.now();
    cpuMs = Math.max(cpuMs, (cpu.user + cpu.system) / 1000);
    wallMs = Math.max(wallMs, wall - lastWall);
    peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed);
    lastCpu = process.cpuUsage();
    lastWall = wall;
    setImmediate(turn);
  };
  setImmediate(turn);
  try {
    const result = await work();
    return { result, cpuMs, wallMs, peakHeapBytes };
  } finally {
    done = true;
  }
}

// The page's side of the Tier-1 proof of work: runs pow-worker.js and reports progress.
// `progress` is the chance a solver would have finished by now (1 − e^(−tried / 2^bits)):
// it rises steadily and says honestly that luck decides the last part.

/**
 * Solves `challenge` at `difficulty` bits in a Web Worker.
 * Resolves {counter, tried, ms}; `onProgress(0..1)` hears each batch; `signal` aborts.
 */
export function solveChallenge(challenge, difficulty, onProgress, signal) {
  if (difficulty <= 0) return Promise.resolve({ counter: 0, tried: 0, ms: 0 });
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./pow-worker.js', import.meta.url));
    // Leaving the room stops the search.
    signal?.addEventListener('abort', () => {
      worker.terminate();
      reject(new DOMException('stopped', 'AbortError'));
    });
    const expected = 2 ** difficulty;
    worker.onmessage = ({ data }) => {
      if (data.error) {
        worker.terminate();
        reject(new Error(data.error));
      } else if (data.counter != null) {
        worker.terminate();
        onProgress?.(1);
        resolve(data);
      } else {
        onProgress?.(1 - Math.exp(-data.tried / expected));
      }
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(event.message || 'the proof-of-work worker failed'));
    };
    worker.postMessage({ challenge, difficulty });
  });
}

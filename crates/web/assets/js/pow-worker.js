// Solves a Tier-1 proof-of-work challenge off the page's thread
// (docs/architecture.md#bot-defence-at-tier-1): finds a counter such that
// SHA-256(challenge + ":" + counter), counter in decimal from 0, starts with `difficulty`
// zero bits, the rule the server checks with one hash. WebCrypto's digest is
// asynchronous, so counters go in batches of concurrent digests; every tenth of a second
// the page hears how many were tried.
//
// In:  {challenge, difficulty}
// Out: {tried} now and then, then {counter, tried, ms} when solved, or {error}.

const BATCH = 256;
const PROGRESS_EVERY_MS = 100;
const encoder = new TextEncoder();

function zeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

async function solve(challenge, difficulty) {
  const started = performance.now();
  let told = started;
  for (let base = 0; ; base += BATCH) {
    const digests = [];
    for (let i = 0; i < BATCH; i += 1) {
      digests.push(crypto.subtle.digest('SHA-256', encoder.encode(`${challenge}:${base + i}`)));
    }
    const done = await Promise.all(digests);
    for (let i = 0; i < done.length; i += 1) {
      if (zeroBits(new Uint8Array(done[i])) >= difficulty) {
        return { counter: base + i, tried: base + i + 1, ms: performance.now() - started };
      }
    }
    const now = performance.now();
    if (now - told >= PROGRESS_EVERY_MS) {
      told = now;
      self.postMessage({ tried: base + BATCH });
    }
  }
}

self.onmessage = async ({ data }) => {
  try {
    if (!self.crypto?.subtle) throw new Error('WebCrypto is unavailable (the page is not a secure context)');
    self.postMessage(await solve(String(data.challenge), Number(data.difficulty)));
  } catch (err) {
    self.postMessage({ error: String(err?.message ?? err) });
  }
};

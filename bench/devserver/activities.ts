// Activities of the devserver benchmark: trivial, so the figures measure the server and the SDK, not the work.

export async function step(n: number): Promise<number> {
  return n + 1;
}

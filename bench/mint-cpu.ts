export async function measureMintCpu() { return { ours: 0, seed: 0 }; }

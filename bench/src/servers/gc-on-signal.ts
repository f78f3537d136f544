// Preloaded into a server under test (node --expose-gc --import ...): SIGUSR2 runs a full GC,
// so a memory reading taken afterwards holds live objects only.
process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());

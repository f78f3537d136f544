const none: ReadonlySet<never> = new Set();

/** Who is subscribed to what, both ways: the clients of a symbol, and the symbols of a client. */
export class SubscriptionIndex<C> {
  private readonly bySymbol = new Map<string, Set<C>>();
  private readonly byClient = new Map<C, Set<string>>();

  /** Every symbol with at least one subscriber. */
  get symbols(): IterableIterator<string> {
    return this.bySymbol.keys();
  }

  /** True when `client` was not subscribed to `symbol` yet. */
  add(client: C, symbol: string): boolean {
    let symbols = this.byClient.get(client);
    if (symbols?.has(symbol)) return false;
    if (!symbols) this.byClient.set(client, (symbols = new Set()));
    symbols.add(symbol);
    let clients = this.bySymbol.get(symbol);
    if (!clients) this.bySymbol.set(symbol, (clients = new Set()));
    clients.add(client);
    return true;
  }

  /** True when `client` was subscribed to `symbol`. */
  remove(client: C, symbol: string): boolean {
    const symbols = this.byClient.get(client);
    if (!symbols?.delete(symbol)) return false;
    if (symbols.size === 0) this.byClient.delete(client);
    this.unlist(client, symbol);
    return true;
  }

  /** Removes every subscription of `client`; returns how many it had. */
  clear(client: C): number {
    const symbols = this.byClient.get(client);
    if (!symbols) return 0;
    this.byClient.delete(client);
    for (const s of symbols) this.unlist(client, s);
    return symbols.size;
  }

  has(client: C, symbol: string): boolean {
    return this.byClient.get(client)?.has(symbol) ?? false;
  }

  subscribers(symbol: string): ReadonlySet<C> {
    return this.bySymbol.get(symbol) ?? none;
  }

  symbolsOf(client: C): ReadonlySet<string> {
    return this.byClient.get(client) ?? none;
  }

  private unlist(client: C, symbol: string): void {
    const clients = this.bySymbol.get(symbol)!;
    clients.delete(client);
    if (clients.size === 0) this.bySymbol.delete(symbol);
  }
}

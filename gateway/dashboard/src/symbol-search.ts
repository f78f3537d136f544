import { $ } from './formats.js';

const MAX_OPTIONS = 8;

export interface SymbolSearchOptions {
  /** The symbols to suggest (`GET /symbols`); asked again when the list is older than a minute. */
  load: () => Promise<string[]>;
  /** Symbols not to suggest (already watched). */
  exclude: () => Set<string>;
  /** A symbol chosen from the list or typed and submitted. */
  choose: (symbol: string) => void;
}

/**
 * The search box: an ARIA combobox whose listbox suggests stored symbols as one types (prefix matches first,
 * then the rest containing the text). Arrow keys move through the suggestions, Enter adds the active one (or
 * what was typed), Escape closes the list.
 */
export class SymbolSearch {
  private readonly input = $<HTMLInputElement>('symbol-search');
  private readonly list = $<HTMLUListElement>('symbol-options');
  private symbols: string[] = [];
  private loadedAt = 0;
  private options: string[] = [];
  private active = -1;

  constructor(private readonly opts: SymbolSearchOptions) {
    this.input.addEventListener('input', () => this.update());
    this.input.addEventListener('focus', () => void this.refresh());
    this.input.addEventListener('keydown', (event) => this.onKey(event));
    this.input.addEventListener('blur', () => this.close());
    // Keep the focus in the input while an option is clicked.
    this.list.addEventListener('mousedown', (event) => event.preventDefault());
    this.list.addEventListener('click', (event) => {
      const option = (event.target as HTMLElement).closest<HTMLElement>('[role=option]');
      if (option?.dataset.symbol) this.pick(option.dataset.symbol);
    });
    $<HTMLFormElement>('add-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.pick(this.active >= 0 ? this.options[this.active]! : this.input.value);
    });
  }

  async refresh(): Promise<void> {
    if (Date.now() - this.loadedAt < 60_000) return;
    this.loadedAt = Date.now();
    try {
      this.symbols = (await this.opts.load()).sort();
    } catch {
      this.loadedAt = 0;
    }
    if (document.activeElement === this.input) this.update();
  }

  private update(): void {
    const text = this.input.value.trim().toUpperCase();
    const exclude = this.opts.exclude();
    const candidates = text ? this.symbols.filter((s) => !exclude.has(s) && s.includes(text)) : [];
    this.options = [
      ...candidates.filter((s) => s.startsWith(text)),
      ...candidates.filter((s) => !s.startsWith(text)),
    ].slice(0, MAX_OPTIONS);
    this.active = -1;
    this.render();
  }

  private render(): void {
    this.list.replaceChildren(
      ...this.options.map((symbol, i) => {
        const li = document.createElement('li');
        li.id = `symbol-option-${i}`;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', String(i === this.active));
        li.dataset.symbol = symbol;
        li.textContent = symbol;
        return li;
      }),
    );
    const open = this.options.length > 0;
    this.list.hidden = !open;
    this.input.setAttribute('aria-expanded', String(open));
    if (this.active >= 0) this.input.setAttribute('aria-activedescendant', `symbol-option-${this.active}`);
    else this.input.removeAttribute('aria-activedescendant');
  }

  private onKey(event: KeyboardEvent): void {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (this.options.length === 0) return;
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      this.active = (this.active + step + this.options.length) % this.options.length;
      this.render();
    } else if (event.key === 'Escape') {
      this.close();
    }
  }

  private pick(text: string): void {
    const symbol = text.trim().toUpperCase();
    this.input.value = '';
    this.close();
    if (symbol) this.opts.choose(symbol);
  }

  private close(): void {
    this.options = [];
    this.active = -1;
    this.render();
  }
}

export interface RouteMemoLimits {
  /** Most patterns kept. Default 1000. */
  maxEntries?: number;
  /** Most bytes kept, counting keys and routes at two bytes a character. Default 256 KiB. */
  maxBytes?: number;
  /** Longest pattern string kept; a longer one is routed every time. Default 1024 characters. */
  maxPatternLength?: number;
}

const DEFAULT_LIMITS: Required<RouteMemoLimits> = { maxEntries: 1000, maxBytes: 256 * 1024, maxPatternLength: 1024 };

/**
 * Memoises Nest's route of a pattern string for patterns that have a handler. Nest's
 * `Server.getRouteFromPattern` runs `JSON.parse` on every incoming pattern and catches the
 * SyntaxError of plain strings: a fifth of a fast transport's CPU under load.
 *
 * The pattern strings come from peers, and many spellings map to one handler (`' "sum" '`, an
 * object pattern padded with whitespace): only routes with a handler are kept, only for short
 * pattern strings, and within a bound in entries and in bytes, so no peer can make it hold more.
 */
export class RouteMemo {
  private readonly routes = new Map<string, string>();
  private readonly limits: Required<RouteMemoLimits>;
  private bytes = 0;

  constructor(
    private readonly compute: (pattern: string) => string,
    private readonly hasHandler: (route: string) => boolean,
    limits: number | RouteMemoLimits = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...(typeof limits === 'number' ? { maxEntries: limits } : limits) };
  }

  /** Bytes held by the memo (two a character, keys and routes). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.routes.size, bytes: this.bytes };
  }

  route(pattern: string): string {
    let route = this.routes.get(pattern);
    if (route === undefined) {
      route = this.compute(pattern);
      this.remember(pattern, route);
    }
    return route;
  }

  private remember(pattern: string, route: string): void {
    const { maxEntries, maxBytes, maxPatternLength } = this.limits;
    if (pattern.length > maxPatternLength || this.routes.size >= maxEntries) return;
    const cost = 2 * (pattern.length + route.length);
    if (this.bytes + cost > maxBytes || !this.hasHandler(route)) return;
    this.routes.set(pattern, route);
    this.bytes += cost;
  }
}

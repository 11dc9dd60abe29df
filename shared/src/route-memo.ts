/**
 * Memoises Nest's route of a pattern string for patterns that have a handler. Nest's
 * `Server.getRouteFromPattern` runs `JSON.parse` on every incoming pattern and catches the
 * SyntaxError of plain strings: a fifth of a fast transport's CPU under load. Only routes with a
 * handler are kept (a client cannot fill the memo with made-up patterns), at most `limit` of them.
 */
export class RouteMemo {
  private readonly routes = new Map<string, string>();

  constructor(
    private readonly compute: (pattern: string) => string,
    private readonly hasHandler: (route: string) => boolean,
    private readonly limit = 1000,
  ) {}

  route(pattern: string): string {
    let route = this.routes.get(pattern);
    if (route === undefined) {
      route = this.compute(pattern);
      if (this.routes.size < this.limit && this.hasHandler(route)) this.routes.set(pattern, route);
    }
    return route;
  }
}

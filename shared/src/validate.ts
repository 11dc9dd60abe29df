import { InvalidOptionError } from './errors.js';

/**
 * Option checks run in constructors, so a bad option fails at start-up with a message
 * that names the option and how to fix it, instead of misbehaving later.
 */
export class OptionValidator<T extends object> {
  constructor(
    private readonly transport: string,
    private readonly options: T,
  ) {}

  private fail(option: string, problem: string, fix: string): never {
    throw new InvalidOptionError(this.transport, option, problem, fix);
  }

  private value(key: keyof T & string): unknown {
    return (this.options as Record<string, unknown>)[key];
  }

  integer(key: keyof T & string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): this {
    const v = this.value(key);
    if (v === undefined) return this;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(key, `is ${JSON.stringify(v)}`, `Use a whole number from ${min} to ${max}.`);
    }
    return this;
  }

  boolean(key: keyof T & string): this {
    const v = this.value(key);
    if (v !== undefined && typeof v !== 'boolean') this.fail(key, `is ${JSON.stringify(v)}`, 'Use true or false.');
    return this;
  }

  string(key: keyof T & string, { nonEmpty = true, pattern }: { nonEmpty?: boolean; pattern?: RegExp } = {}): this {
    const v = this.value(key);
    if (v === undefined) return this;
    if (typeof v !== 'string' || (nonEmpty && v.length === 0) || (pattern && !pattern.test(v))) {
      this.fail(key, `is ${JSON.stringify(v)}`, `Use a ${nonEmpty ? 'non-empty ' : ''}string${pattern ? ` matching ${pattern}` : ''}.`);
    }
    return this;
  }

  oneOf<V>(key: keyof T & string, allowed: readonly V[]): this {
    const v = this.value(key);
    if (v !== undefined && !allowed.includes(v as V)) {
      this.fail(key, `is ${JSON.stringify(v)}`, `Use one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}.`);
    }
    return this;
  }

  func(key: keyof T & string): this {
    const v = this.value(key);
    if (v !== undefined && typeof v !== 'function') this.fail(key, `is a ${typeof v}`, 'Pass a function.');
    return this;
  }

  url(key: keyof T & string, protocols: readonly string[]): this {
    const v = this.value(key);
    if (v === undefined) return this;
    let protocol: string | undefined;
    try {
      protocol = new URL(String(v)).protocol.replace(/:$/, '');
    } catch {
      protocol = undefined;
    }
    if (typeof v !== 'string' || !protocol || !protocols.includes(protocol)) {
      this.fail(key, `is ${JSON.stringify(v)}`, `Use an absolute URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}.`);
    }
    return this;
  }

  /** For constraints between options: `check(cond, option, problem, fix)`. */
  check(ok: boolean, option: string, problem: string, fix: string): this {
    if (!ok) this.fail(option, problem, fix);
    return this;
  }

  /** Rejects keys the transport does not know (typos such as `maxPayLoad`). */
  known(keys: readonly string[]): this {
    for (const key of Object.keys(this.options)) {
      if (!keys.includes(key)) {
        this.fail(key, 'is not an option of this transport', `Remove it, or use one of: ${keys.join(', ')}.`);
      }
    }
    return this;
  }
}

export const validateOptions = <T extends object>(transport: string, options: T) => new OptionValidator(transport, options);

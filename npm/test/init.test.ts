// `init()`'s own checks, before any WebAssembly loads: a wrong endpoint is refused with a message
// that says what to pass; unknown options are named in a warning.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { init } from '../src/index.js';

afterEach(() => vi.restoreAllMocks());

describe('init', () => {
  it.each([
    [{ endpoint: 'collector.example', app: 'a' }, 'collector.example'],
    [{ endpoint: 'ftp://collector.example', app: 'a' }, 'ftp://collector.example'],
    [{ endpoint: undefined, app: 'a' }, 'undefined'],
  ])('refuses endpoint %j with a message naming it', async (options, shown) => {
    await expect(init(options as never)).rejects.toThrow(/option `endpoint` must be the collector's http\(s\) URL/);
    await expect(init(options as never)).rejects.toThrow(shown);
  });

  it('refuses something that is not an options object', async () => {
    await expect(init(undefined as never)).rejects.toThrow('init() takes an options object');
  });
});

/**
 * The venue registry matches the venue folders: every directory under `src/venues/` is registered under its
 * name, every registered id has a folder, and each connector's `venue` equals its id.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VENUES, getConnector } from '../../src/venues/index.ts';

const VENUES_DIR = fileURLToPath(new URL('../../src/venues/', import.meta.url));

const folders = readdirSync(VENUES_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('venue registry', () => {
  it('every venue folder is registered', () => {
    const missing = folders.filter((f) => !Object.hasOwn(VENUES, f));
    expect(missing, `folders under src/venues/ not registered in src/venues/index.ts: ${missing.join(', ')}`).toEqual([]);
  });

  it('every registered venue has a folder', () => {
    const orphans = Object.keys(VENUES).filter((id) => !folders.includes(id));
    expect(orphans, `registered venue ids without a folder under src/venues/: ${orphans.join(', ')}`).toEqual([]);
  });

  it('each connector names itself by its registry id and is complete', () => {
    for (const [id, c] of Object.entries(VENUES)) {
      expect(c.venue).toBe(id);
      expect(typeof c.decode).toBe('function');
      expect(typeof c.plan).toBe('function');
      expect(typeof c.newSession).toBe('function');
      expect(typeof c.loadInstruments).toBe('function');
      expect(c.replay).toBeDefined();
      // A venue either re-sends snapshots in-stream (and can ask for one) or serves them over REST.
      if (c.capabilities.bookSync.snapshot === 'rest') expect(typeof c.bookSnapshot).toBe('function');
      else expect(typeof c.resubscribeFrames).toBe('function');
      expect(c.capabilities.bookSync.source).toMatch(/^https:\/\//);
    }
  });

  it('getConnector finds registered venues and gives undefined for unknown ids', () => {
    expect(getConnector('bybit')?.venue).toBe('bybit');
    expect(getConnector('binance')?.venue).toBe('binance');
    expect(getConnector('nope')).toBeUndefined();
    expect(getConnector('toString')).toBeUndefined();
  });
});

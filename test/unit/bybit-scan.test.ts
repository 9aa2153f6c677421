import { describe, expect, it } from 'vitest';
import { loadRecording } from '../../src/replay/recording.ts';
import { scanBookFrame } from '../../src/venues/bybit/scan.ts';
import { recordingPath } from '../helpers/recordings.ts';

/** What the decoder reads from a frame, via JSON.parse (the reference). */
function reference(text: string) {
  const m = JSON.parse(text);
  return { topic: m.topic, type: m.type, ts: m.ts, s: m.data.s, b: m.data.b, a: m.data.a, u: m.data.u };
}

const doc =
  '{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"],["16493.00","0"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724},"cts":1672304484976}';

describe('bybit order-book scanner', () => {
  it('reads the documented delta shape exactly like JSON.parse', () => {
    expect(scanBookFrame(doc)).toEqual(reference(doc));
  });

  it('falls back (never hangs) on a frame cut off inside or right after a number', () => {
    const cut = doc.slice(0, doc.lastIndexOf('"cts":') + '"cts":'.length);
    for (const t of [`${cut}1`, cut, '{"ts":1', '{"ts":']) {
      expect(scanBookFrame(t)).toBeUndefined();
      expect(() => JSON.parse(t)).toThrow();
    }
  });

  it('accepts keys in any order, empty sides and unknown scalar keys', () => {
    const t = '{"ts":1,"type":"snapshot","extra":true,"topic":"orderbook.1.X","data":{"u":5,"a":[],"b":[["1","2"]],"s":"X","seq":-3,"x":null},"cts":2.5}';
    expect(scanBookFrame(t)).toEqual(reference(t));
  });

  it.each([
    ['whitespace', doc.replace('"type":"delta"', '"type": "delta"')],
    ['an escaped string', doc.replace('"BTCUSDT","b"', '"BTC\\u0055SDT","b"')],
    ['a nested unknown value', doc.replace('"cts":', '"x":{"y":1},"cts":')],
    ['a fractional ts', doc.replace('"ts":1672304484978', '"ts":1672304484978.5')],
    ['numeric levels', doc.replace('["16611.00","0.029"]', '[16611.00,"0.029"]')],
    ['a missing u', doc.replace('"u":18521288,', '')],
    ['trailing garbage', doc + 'x'],
    ['a truncated frame', doc.slice(0, -20)],
    ['three-element levels', doc.replace('["16611.00","0.029"]', '["16611.00","0.029","x"]')],
  ])('falls back (returns undefined) on %s', (_name, text) => {
    expect(scanBookFrame(text)).toBeUndefined();
  });

  const path = recordingPath('bybit.jsonl.gz');
  it.skipIf(!path)('returns exactly what JSON.parse gives on every recorded order-book frame', () => {
    let n = 0;
    for (const r of loadRecording(path!).records) {
      if (r.t !== 'recv' || !r.data.startsWith('{"topic":"orderbook.')) continue;
      expect(scanBookFrame(r.data)).toEqual(reference(r.data));
      n++;
    }
    expect(n).toBe(2148);
  });
});

import { describe, it, expect } from '@jest/globals';
import { algorithmFor, sign, verify } from '../../gateway/enforcers/bbb/checksum.ts';
import { BbbQuery } from '../../gateway/enforcers/bbb/query.ts';

// The example of the BigBlueButton API documentation.
const QUERY = 'name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444';
const SECRET = '639259d4-9dd8-4b25-bf01-95f9567eaf4b';

describe('BigBlueButton checksums', () => {
  it('match the documented test vectors', () => {
    expect(sign('create', QUERY, SECRET, 'sha1')).toBe('1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17');
    expect(sign('create', QUERY, SECRET, 'sha256')).toBe('da9185f7f333cfdfcd6eeac32dca3777510c4c436020d8b887ba5515bd1d189e');
  });

  it('pick the algorithm by length and refuse anything else', () => {
    expect(algorithmFor('a'.repeat(40))).toBe('sha1');
    expect(algorithmFor('a'.repeat(96))).toBe('sha384');
    expect(algorithmFor('a'.repeat(50))).toBeUndefined();
    expect(algorithmFor('z'.repeat(40))).toBeUndefined();
    expect(verify('create', QUERY, '1FCBB0C4FC1F039F73AA6D697D2DB9BA7F803F17', SECRET, ['sha1'])).toBe('sha1');
    expect(verify('create', QUERY, '1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17', SECRET, ['sha256'])).toBeUndefined();
    expect(verify('create', `${QUERY}&x=1`, '1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17', SECRET, ['sha1'])).toBeUndefined();
  });

  it('keep untouched parameters byte for byte and drop every case-variant of a key', () => {
    const q = new BbbQuery(`?${QUERY}&duration=0&DURATION=5&Duration=-1`).dropAnyCase('duration').append('duration', '60');
    expect(q.toString()).toBe(`${QUERY}&duration=60`);
    expect(new BbbQuery('name=A%20B&x').get('name')).toBe('A B');
  });
});

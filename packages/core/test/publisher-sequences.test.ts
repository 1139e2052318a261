import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PublisherSequences } from '../src/index.js';

describe('PublisherSequences', () => {
  test('a number not above the last one of its publisher is a duplicate', () => {
    const seen = new PublisherSequences(2);
    assert.equal(seen.isDuplicate('a', 1), false);
    assert.equal(seen.isDuplicate('a', 2), false);
    assert.equal(seen.isDuplicate('a', 2), true, 'a re-sent write');
    assert.equal(seen.isDuplicate('b', 1), false, 'publishers are counted apart');
    assert.equal(seen.isDuplicate('a', 5), false, 'a jump is not a duplicate');
    assert.equal(seen.isDuplicate('c', 1), false);
    assert.equal(seen.isDuplicate('a', 1), false, 'the oldest publisher was forgotten at the cap');
    assert.equal(seen.last('a'), 1);
    assert.equal(seen.last('nobody'), undefined);
  });
});

//! Field filters held for comparison: every record's filters side by side in one flat array,
//! with their popcounts.
//!
//! A comparison of two encoded records takes a dozen Dice coefficients and containments over
//! their field filters. Held as each record's own heap blocks (one per field, reached through
//! two pointers), a pair drawn at random costs a cache miss per filter; held record after
//! record, a record's filters are adjacent lines the processor's prefetcher follows, and the
//! candidate pairs (sorted by their first record) reuse the first record from the cache.

use enlace_encode::EncodedRecord;
use enlace_encode::kernel::{self, AndPopcount};

/// The field filters of many records, record `i`'s field `f` at words `(i × fields + f) ×
/// width`, all zero where the record has no value; and each filter's popcount.
#[derive(Debug, Clone, Default)]
pub(super) struct FieldFilters {
    /// The kernel's count, its path chosen once.
    counter: AndPopcount,
    fields: usize,
    /// Words per filter.
    width: usize,
    words: Vec<u64>,
    ones: Vec<u32>,
}

impl FieldFilters {
    /// Room for `records` records of `fields` filters, `width` words each.
    pub(super) fn with_capacity(fields: usize, width: usize, records: usize) -> FieldFilters {
        FieldFilters {
            counter: AndPopcount::best(),
            fields,
            width,
            words: Vec::with_capacity(records * fields * width),
            ones: Vec::with_capacity(records * fields),
        }
    }

    /// The filters of `records` records read apart from them (`SplitFile`), counted once here;
    /// `None` when `words` does not hold exactly `records × fields × width` words.
    pub(super) fn from_words(
        fields: usize,
        width: usize,
        records: usize,
        words: Vec<u64>,
    ) -> Option<FieldFilters> {
        if records.checked_mul(fields)?.checked_mul(width)? != words.len() {
            return None;
        }
        let ones = if width == 0 {
            vec![0; records * fields]
        } else {
            words.chunks_exact(width).map(kernel::popcount).collect()
        };
        Some(FieldFilters {
            counter: AndPopcount::best(),
            fields,
            width,
            words,
            ones,
        })
    }

    /// Appends the filters of `r`, leaving `r.fields` empty: they live here from now on, and
    /// each is freed as it is moved so that the two copies are never all alive at once.
    pub(super) fn take(&mut self, r: &mut EncodedRecord) {
        let fields = std::mem::take(&mut r.fields);
        self.append(fields.iter().map(|f| f.words()));
    }

    /// Appends a copy of the filters of `r`.
    pub(super) fn copy(&mut self, r: &EncodedRecord) {
        self.append(r.fields.iter().map(|f| f.words()));
    }

    /// A record's filters in schema order. Every file of a dataset shares one schema, so each
    /// has `width` words; a record with fewer filters, or shorter ones, is padded with zeros
    /// (read as absent) so that the layout stays aligned whatever a file holds.
    fn append<'a>(&mut self, filters: impl Iterator<Item = &'a [u64]>) {
        let start = self.words.len();
        let mut n = 0;
        for words in filters.take(self.fields) {
            let at = self.words.len();
            let kept = &words[..words.len().min(self.width)];
            self.words.extend_from_slice(kept);
            self.words.resize(at + self.width, 0);
            self.ones.push(kernel::popcount(&self.words[at..]));
            n += 1;
        }
        self.words.resize(start + self.fields * self.width, 0);
        self.ones.resize(self.ones.len() + self.fields - n, 0);
    }

    /// Record `i`, which is `record`, with its filters.
    pub(super) fn side<'a>(&'a self, i: usize, record: &'a EncodedRecord) -> Side<'a> {
        let (at, span) = (i * self.fields, self.fields * self.width);
        Side {
            record,
            counter: self.counter,
            width: self.width,
            filters: self
                .words
                .get(at * self.width..at * self.width + span)
                .unwrap_or_default(),
            ones: self.ones.get(at..at + self.fields).unwrap_or_default(),
        }
    }
}

/// One side of a comparison: a record (for its presence bits and identifier hashes) with its
/// field filters and their popcounts.
#[derive(Clone, Copy)]
pub(super) struct Side<'a> {
    pub(super) record: &'a EncodedRecord,
    counter: AndPopcount,
    width: usize,
    filters: &'a [u64],
    ones: &'a [u32],
}

/// A field's filter with its popcount.
#[derive(Clone, Copy)]
pub(super) struct Filter<'a> {
    pub(super) words: &'a [u64],
    pub(super) ones: u32,
    counter: AndPopcount,
}

/// The filter of field `slot`, with its popcount, when the record has a value there.
pub(super) fn counted(side: Side<'_>, slot: Option<usize>) -> Option<Filter<'_>> {
    let i = slot?;
    if !side.record.has_field(i) {
        return None;
    }
    let words = side.filters.get(i * side.width..(i + 1) * side.width)?;
    let ones = side.ones.get(i).copied()?;
    Some(Filter {
        words,
        ones,
        counter: side.counter,
    })
}

pub(super) fn common(a: Filter<'_>, b: Filter<'_>) -> u32 {
    // Widths are equal: every filter of a dataset has the schema's width.
    a.counter.count(a.words, b.words)
}

pub(super) fn dice(a: Filter<'_>, b: Filter<'_>) -> f64 {
    kernel::dice_from_counts(common(a, b), a.ones, b.ones)
}

/// Share of `a`'s bits also set in `b`.
pub(super) fn containment(a: Filter<'_>, b: Filter<'_>) -> f64 {
    if a.ones == 0 {
        0.0
    } else {
        f64::from(common(a, b)) / f64::from(a.ones)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlace_encode::BitVector;

    fn record(fields: &[&[u64]], present: u32) -> EncodedRecord {
        EncodedRecord {
            reference: 1,
            group: 0,
            fields: fields
                .iter()
                .map(|w| BitVector::from_words(w.to_vec()))
                .collect(),
            present,
            clk: None,
            id_hashes: vec![],
            block_tokens: vec![],
            event_tokens: vec![],
        }
    }

    #[test]
    fn taken_and_copied_records_read_back_their_own_filters() {
        let mut a = record(&[&[1, 2], &[0xff, 0]], 0b11);
        let b = record(&[&[4, 0], &[0, 7]], 0b10);
        let mut store = FieldFilters::with_capacity(2, 2, 2);
        store.take(&mut a);
        store.copy(&b);
        assert!(a.fields.is_empty(), "taken filters leave the record");
        let (sa, sb) = (store.side(0, &a), store.side(1, &b));
        let f = counted(sa, Some(1)).unwrap();
        assert_eq!((f.words, f.ones), (&[0xff, 0][..], 8));
        assert_eq!(counted(sa, Some(0)).unwrap().ones, 2);
        assert!(counted(sb, Some(0)).is_none(), "field 0 is absent from b");
        assert_eq!(counted(sb, Some(1)).unwrap().words, &[0, 7]);
        assert!(counted(sb, Some(2)).is_none(), "no such field");
        assert!(counted(sb, None).is_none());
    }

    #[test]
    fn filters_read_apart_equal_filters_taken_from_records() {
        let mut a = record(&[&[1, 2], &[0xff, 0]], 0b11);
        let mut taken = FieldFilters::with_capacity(2, 2, 1);
        taken.copy(&a);
        let apart = FieldFilters::from_words(2, 2, 1, vec![1, 2, 0xff, 0]).unwrap();
        a.fields.clear();
        for f in [Some(0), Some(1)] {
            let (x, y) = (
                counted(taken.side(0, &a), f).unwrap(),
                counted(apart.side(0, &a), f).unwrap(),
            );
            assert_eq!((x.words, x.ones), (y.words, y.ones));
        }
        assert!(FieldFilters::from_words(2, 2, 1, vec![1, 2, 3]).is_none());
        assert!(FieldFilters::from_words(2, 2, 2, vec![0; 4]).is_none());
    }

    #[test]
    fn short_or_missing_filters_are_padded_so_later_records_stay_aligned() {
        let short = record(&[&[3]], 0b01);
        let full = record(&[&[5, 6], &[9, 9]], 0b11);
        let mut store = FieldFilters::with_capacity(2, 2, 2);
        store.copy(&short);
        store.copy(&full);
        let s = store.side(0, &short);
        assert_eq!(counted(s, Some(0)).unwrap().words, &[3, 0]);
        let f = store.side(1, &full);
        assert_eq!(counted(f, Some(0)).unwrap().words, &[5, 6]);
        assert_eq!(counted(f, Some(1)).unwrap().words, &[9, 9]);
    }

    #[test]
    fn dice_and_containment_follow_their_definitions() {
        let counter = AndPopcount::best();
        let x = Filter {
            words: &[0b1111],
            ones: 4,
            counter,
        };
        let y = Filter {
            words: &[0b0011],
            ones: 2,
            counter,
        };
        assert_eq!(common(x, y), 2);
        assert!((dice(x, y) - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(containment(y, x), 1.0);
        assert_eq!(containment(x, y), 0.5);
    }
}

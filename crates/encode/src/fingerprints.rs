//! The open-addressing index both of a session's memories ([`crate::memo`], [`crate::values`])
//! look entries up through.
//!
//! A slot is 8 bytes: 0 when empty, else the high half of the entry's hash above the entry's
//! position (plus one) in the caller's dense array of entries. A probe reads slots in a row
//! and only a matching fingerprint leads to the entry itself, so a look-up touches the entry
//! once. The index holds positions and hash bits, never keys, so it needs no wiping.

use zeroize::Zeroize;

/// Makes room in `v` for `more` items, its capacity doubled but kept to `limit` where it can
/// be; when that moves it, the old memory is wiped first (the memos' entries are as sensitive as
/// the keys).
pub(crate) fn grow_wiping<T: Zeroize + Copy>(v: &mut Vec<T>, more: usize, limit: usize) {
    let need = v.len() + more;
    if need > v.capacity() {
        let room = (2 * v.capacity()).clamp(64, limit.max(64)).max(need);
        let mut bigger = Vec::with_capacity(room);
        bigger.extend_from_slice(v);
        v.iter_mut().for_each(Zeroize::zeroize);
        *v = bigger;
    }
}

/// Slots of an index; a power of two once the index has any.
#[derive(Debug, Default)]
pub(crate) struct FingerprintIndex {
    slots: Vec<u64>,
}

impl FingerprintIndex {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The position of the entry with this `hash` for which `is_key` holds, or, when there is
    /// none, the empty slot where it would go. The index must have slots.
    pub(crate) fn find(&self, hash: u64, is_key: impl Fn(usize) -> bool) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return Err(i);
            }
            let at = (slot & u64::from(u32::MAX)) as usize - 1;
            if slot >> 32 == hash >> 32 && is_key(at) {
                return Ok(at);
            }
            i = (i + 1) & mask;
        }
    }

    /// Points the empty slot `slot` (from [`FingerprintIndex::find`]) at entry `at`.
    pub(crate) fn put(&mut self, slot: usize, hash: u64, at: usize) {
        self.slots[slot] = (hash >> 32) << 32 | (at as u64 + 1);
    }

    /// Replaces the index by one of `size` slots (a power of two) over entries `0..` with the
    /// given hashes.
    pub(crate) fn rebuild(&mut self, size: usize, hashes: impl Iterator<Item = u64>) {
        self.slots = vec![0; size];
        for (at, hash) in hashes.enumerate() {
            // A fresh index has no entry matching, so `find` gives the empty slot.
            if let Err(slot) = self.find(hash, |_| false) {
                self.put(slot, hash, at);
            }
        }
    }

    /// Doubles the index (to at least `first` slots, at most `max`) once `used` entries fill
    /// half of it, taking each entry's hash from `hash_of`: a probe then stays short.
    pub(crate) fn make_room(
        &mut self,
        used: usize,
        first: usize,
        max: usize,
        hash_of: impl Fn(usize) -> u64,
    ) {
        if used * 2 >= self.len() && self.len() < max {
            let size = (self.len() * 2).max(first);
            self.rebuild(size, (0..used).map(hash_of));
        }
    }

    /// Empties every slot, keeping the memory.
    pub(crate) fn clear(&mut self) {
        self.slots.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_found_by_hash_and_key_through_collisions_and_rebuilds() {
        let keys: Vec<u64> = (0..300).map(|i| i * 7919).collect();
        // Hashes that share their low bits, so that probes run into each other.
        let hash = |k: u64| (k / 2) << 40 | (k % 4);
        let mut index = FingerprintIndex::default();
        index.rebuild(512, keys.iter().map(|&k| hash(k)));
        for (at, &k) in keys.iter().enumerate() {
            assert_eq!(index.find(hash(k), |e| keys[e] == k), Ok(at));
        }
        let missing = 5;
        let Err(slot) = index.find(hash(missing), |e| keys[e] == missing) else {
            panic!("found a key never put");
        };
        index.put(slot, hash(missing), 300);
        assert_eq!(index.find(hash(missing), |e| e == 300), Ok(300));
        index.clear();
        assert!(index.find(hash(keys[0]), |_| true).is_err());
        assert_eq!(index.len(), 512);
    }
}

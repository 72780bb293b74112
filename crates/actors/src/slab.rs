//! Chunked slot storage with stable `u32` handles.
//!
//! Other indexes (the order tree, the user index, the touch list) point at entries by a
//! 4-byte handle instead of copying the entry's key. Storage grows one fixed-size chunk at
//! a time, so unlike a doubling `Vec` it never holds up to twice the memory it needs, and
//! a handle stays valid until its entry is removed.

const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

#[derive(Debug)]
pub(crate) struct Slab<T> {
    chunks: Vec<Vec<T>>,
    /// Handles of removed entries, reused before the storage grows.
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Copy> Slab<T> {
    /// Stores `value`; `None` once the u32 handle space (about four billion entries) is
    /// used up.
    pub(crate) fn insert(&mut self, value: T) -> Option<u32> {
        let handle = match self.free.pop() {
            Some(handle) => {
                *self.get_mut(handle) = value;
                handle
            }
            None => {
                if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
                    // The highest handle is reserved as the "no entry" marker of linked lists.
                    if self.chunks.len() >= (1 << (32 - CHUNK_BITS)) - 1 {
                        return None;
                    }
                    self.chunks.push(Vec::with_capacity(CHUNK));
                }
                let chunk_no = self.chunks.len() - 1;
                let chunk = self.chunks.last_mut()?;
                chunk.push(value);
                u32::try_from((chunk_no << CHUNK_BITS) | (chunk.len() - 1)).ok()?
            }
        };
        self.len += 1;
        Some(handle)
    }

    /// Frees `handle` for reuse. The caller never touches it again.
    pub(crate) fn remove(&mut self, handle: u32) {
        self.free.push(handle);
        self.len -= 1;
    }

    pub(crate) fn get(&self, handle: u32) -> &T {
        &self.chunks[(handle >> CHUNK_BITS) as usize][handle as usize & (CHUNK - 1)]
    }

    pub(crate) fn get_mut(&mut self, handle: u32) -> &mut T {
        &mut self.chunks[(handle >> CHUNK_BITS) as usize][handle as usize & (CHUNK - 1)]
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_stable_and_reused() {
        let mut slab = Slab::default();
        let handles: Vec<u32> = (0..10_000u64).map(|i| slab.insert(i).unwrap()).collect();
        assert_eq!(*slab.get(handles[5000]), 5000);
        slab.remove(handles[7]);
        let again = slab.insert(77).unwrap();
        assert_eq!(again, handles[7]);
        assert_eq!(*slab.get(again), 77);
        assert_eq!(*slab.get(handles[9999]), 9999);
        assert_eq!(slab.len(), 10_000);
        assert_eq!(slab.chunks.len(), 10_000usize.div_ceil(CHUNK));
    }
}

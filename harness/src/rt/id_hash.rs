//! A hasher for maps keyed by the harness's own ids (tasks, resources, messages, waiters,
//! static locations): a multiply and a fold instead of SipHash, which showed in every tracked
//! operation's profile. The keys are counted up from 0 or are addresses, never chosen by an
//! attacker, so SipHash's protection buys nothing here.

/// Hashes one id (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        let h = (self.0 ^ i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// The `BuildHasher` of maps keyed by ids (see [`IdHasher`]).
pub(crate) type IdHash = std::hash::BuildHasherDefault<IdHasher>;

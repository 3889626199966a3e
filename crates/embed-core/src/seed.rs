//! Seeding policy.
//!
//! Every model configuration carries a `seed: u64`. Components that need
//! randomness derive their own stream from it with [`derive_seed`] and a
//! stream number (a thread index, or a fixed constant per component), so
//! that adding a consumer never shifts another's numbers. [`rng`] builds the
//! workspace's generator, Xoshiro256++, whose output is fixed by its
//! specification (unlike `rand`'s `SmallRng`, which may change between
//! releases): a seed gives the same numbers on every platform and version.

use rand::SeedableRng;

/// The workspace's pseudo-random generator.
pub type Rng = rand_xoshiro::Xoshiro256PlusPlus;

/// The default seed of every configuration.
pub const DEFAULT_SEED: u64 = 1;

/// Mixes `seed` and `stream` into an independent 64-bit seed (SplitMix64).
///
/// ```
/// use embed_core::seed::derive_seed;
/// assert_ne!(derive_seed(1, 0), derive_seed(1, 1));
/// assert_eq!(derive_seed(7, 3), derive_seed(7, 3));
/// ```
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(stream.wrapping_add(1)));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A generator for `stream` of `seed`.
///
/// ```
/// use rand::Rng as _;
/// let a: u64 = embed_core::seed::rng(42, 0).gen();
/// let b: u64 = embed_core::seed::rng(42, 0).gen();
/// assert_eq!(a, b);
/// ```
pub fn rng(seed: u64, stream: u64) -> Rng {
    Rng::seed_from_u64(derive_seed(seed, stream))
}

/// word2vec's linear congruential generator, used by trainers that follow
/// word2vec C's sampling exactly: cheap, and one per thread.
///
/// ```
/// let mut r = embed_core::seed::Lcg::new(1);
/// let a = r.next_u64();
/// assert_eq!(a, 25214903917 + 11);
/// ```
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    /// A generator starting from `state`.
    pub fn new(state: u64) -> Self {
        Lcg(state)
    }

    /// Advances and returns the new state.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(25_214_903_917).wrapping_add(11);
        self.0
    }

    /// A uniform float in `[0, 1)` from the upper 16 bits, as word2vec C does.
    #[inline]
    pub fn next_unit_f32(&mut self) -> f32 {
        (self.next_u64() & 0xFFFF) as f32 / 65536.0
    }
}

//! Python's `random.Random(seed).sample(population, k)` (CPython 3.11), so the
//! point lookups and updates use exactly the keys the peer harness draws.
//!
//! MT19937 seeded as CPython seeds it from an int (`init_by_array` over the
//! value's 32-bit words), `getrandbits(k)` for k ≤ 32, `_randbelow` by
//! rejection, and `sample`'s two strategies (pool or selected-set).

use std::collections::HashSet;

const N: usize = 624;
const M: usize = 397;

/// CPython's Mersenne Twister.
pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl PyRandom {
    /// `random.Random(seed)` for a seed below 2^32.
    pub fn new(seed: u32) -> Self {
        let mut r = Self { mt: [0; N], index: N };
        r.init_genrand(19_650_218);
        let key = [seed];
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = r.mt[i - 1] ^ (r.mt[i - 1] >> 30);
            r.mt[i] = (r.mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                r.mt[0] = r.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = r.mt[i - 1] ^ (r.mt[i - 1] >> 30);
            r.mt[i] = (r.mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                r.mt[0] = r.mt[N - 1];
                i = 1;
            }
        }
        r.mt[0] = 0x8000_0000;
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            let prev = self.mt[i - 1] ^ (self.mt[i - 1] >> 30);
            self.mt[i] = 1_812_433_253u32.wrapping_mul(prev).wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for 1 ≤ k ≤ 32.
    pub fn getrandbits(&mut self, k: u32) -> u32 {
        self.next_u32() >> (32 - k)
    }

    /// `_randbelow(n)` for 0 < n < 2^32.
    fn randbelow(&mut self, n: usize) -> usize {
        let k = usize::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(k) as usize;
            if r < n {
                return r;
            }
        }
    }

    /// `sample(population, k)`.
    pub fn sample<T: Copy>(&mut self, population: &[T], k: usize) -> Vec<T> {
        let n = population.len();
        let k = k.min(n);
        let mut setsize = 21usize;
        if k > 5 {
            setsize += 4usize.pow(((k * 3) as f64).log(4.0).ceil() as u32);
        }
        let mut out = Vec::with_capacity(k);
        if n <= setsize {
            let mut pool = population.to_vec();
            for i in 0..k {
                let j = self.randbelow(n - i);
                out.push(pool[j]);
                pool[j] = pool[n - i - 1];
            }
        } else {
            let mut selected = HashSet::with_capacity(k);
            for _ in 0..k {
                let mut j = self.randbelow(n);
                while selected.contains(&j) {
                    j = self.randbelow(n);
                }
                selected.insert(j);
                out.push(population[j]);
            }
        }
        out
    }
}

/// Checks the generator against values printed by CPython 3.11; an error
/// names the first mismatch.
pub fn self_check() -> Result<(), String> {
    let mut r = PyRandom::new(42);
    let bits = [r.getrandbits(32), r.getrandbits(32)];
    let want_bits = [2_746_317_213, 478_163_327];
    let big: Vec<u64> = (0..1_000_000).collect();
    let mid: Vec<u64> = (0..150_000).collect();
    let small: Vec<u64> = (0..30).collect();
    let checks: [(&str, Vec<u64>, Vec<u64>); 4] = [
        ("getrandbits(32) x2", bits.iter().map(|&b| u64::from(b)).collect(), want_bits.to_vec()),
        (
            "Random(42).sample(range(1e6), 5)",
            PyRandom::new(42).sample(&big, 5),
            vec![670_487, 116_739, 26_225, 777_572, 288_389],
        ),
        (
            "Random(43).sample(range(150000), 5)",
            PyRandom::new(43).sample(&mid, 5),
            vec![10_106, 74_995, 37_731, 121_250, 96_961],
        ),
        (
            "Random(42).sample(range(30), 5)",
            PyRandom::new(42).sample(&small, 5),
            vec![20, 3, 0, 23, 8],
        ),
    ];
    for (what, got, want) in checks {
        if got != want {
            return Err(format!("{what}: got {got:?}, CPython gives {want:?}"));
        }
    }
    Ok(())
}

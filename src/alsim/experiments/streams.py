"""Each animal's random stream, without a SeedSequence and a generator object per animal.

Animal (or well) ``i`` of a protocol draws from
``numpy.random.default_rng(numpy.random.SeedSequence(seed).spawn(N)[i])`` (docs/protocols.md §11).
Building those objects costs about 30 µs per animal, 30 s for a million. Here NumPy's SeedSequence
hash (``numpy/random/bit_generator.pyx``, reproduced word for word) runs on a whole chunk of
animals at once as uint32 array arithmetic, PCG64's seeding (``pcg64_srandom_r``) follows in
128-bit integers, and one generator object is set to each animal's state in turn: the same
numbers, about 5 µs per animal. ``tests/test_streams.py`` holds the states to NumPy's.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

_MASK32 = 0xFFFF_FFFF
_MASK128 = (1 << 128) - 1
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875          # SeedSequence hashmix, entropy pool
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED          # SeedSequence generate_state
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715            # SeedSequence mix
_XSHIFT = np.uint32(16)
_POOL = 4                                          # SeedSequence pool size (words)
_PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341  # PCG_DEFAULT_MULTIPLIER_128


def _words(value: int) -> list[int]:
    """A non-negative integer as little-endian 32-bit words (0 is one word), as SeedSequence coerces it."""
    words = [value & _MASK32]
    value >>= 32
    while value:
        words.append(value & _MASK32)
        value >>= 32
    return words


def _seed_words(seed: int, index: np.ndarray) -> list[np.ndarray]:
    """``SeedSequence(seed, spawn_key=(i,)).generate_state(4, uint64)`` for every ``i`` in ``index``:
    four uint64 arrays (PCG64's initial state, high and low words, then its stream, high and low)."""
    if seed < 0 or (index.size and (index.min() < 0 or index.max() > _MASK32)):
        raise ValueError("seed must be non-negative and animal indices below 2**32")
    run = _words(seed)
    run += [0] * max(0, _POOL - len(run))  # a spawned sequence pads the run entropy to the pool size
    entropy = [np.full(index.size, w, np.uint32) for w in run] + [index.astype(np.uint32)]
    const = _INIT_A

    def hashmix(value: np.ndarray) -> np.ndarray:
        nonlocal const
        value = value ^ np.uint32(const)
        const = (const * _MULT_A) & _MASK32
        value = value * np.uint32(const)
        return value ^ (value >> _XSHIFT)

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
        return r ^ (r >> _XSHIFT)

    pool = [hashmix(entropy[k]) for k in range(_POOL)]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for src in range(_POOL, len(entropy)):
        for dst in range(_POOL):
            pool[dst] = mix(pool[dst], hashmix(entropy[src]))
    const = _INIT_B
    out = []
    for k in range(8):
        value = pool[k % _POOL] ^ np.uint32(const)
        const = (const * _MULT_B) & _MASK32
        value = value * np.uint32(const)
        out.append((value ^ (value >> _XSHIFT)).astype(np.uint64))
    return [out[2 * k] | (out[2 * k + 1] << np.uint64(32)) for k in range(4)]


def pcg64_states(seed: int, index: np.ndarray) -> list[tuple[int, int]]:
    """(state, increment) of the PCG64 generator of each animal in ``index`` (128-bit integers), as
    ``PCG64(SeedSequence(seed).spawn(N)[i]).state`` reports them."""
    w = _seed_words(seed, np.asarray(index, dtype=np.int64))
    out = []
    for s_hi, s_lo, i_hi, i_lo in zip(*(x.tolist() for x in w)):
        inc = ((((i_hi << 64) | i_lo) << 1) | 1) & _MASK128
        state = ((((s_hi << 64) | s_lo) + inc) * _PCG_MULT + inc) & _MASK128  # two steps from 0
        out.append((state, inc))
    return out


def generators(seed: int, index: np.ndarray | range) -> Iterator[np.random.Generator]:
    """The random stream of each animal in ``index``, in order. One Generator object is set to each
    animal's state in turn: draw all of an animal's numbers before taking the next."""
    bits = np.random.PCG64()
    rng = np.random.Generator(bits)
    for state, inc in pcg64_states(seed, np.asarray(index)):
        bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                      "has_uint32": 0, "uinteger": 0}
        yield rng

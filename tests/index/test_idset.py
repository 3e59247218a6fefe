from __future__ import annotations

import numpy as np

from facesearch.index._idset import IdSet


def test_idset_matches_a_python_set_through_merges() -> None:
    rng = np.random.default_rng(5)
    pool = rng.choice(10**9, size=20_000, replace=False).astype(np.int64)
    s, ref = IdSet(pool[:3000]), set(pool[:3000].tolist())
    pos = 3000
    for step in range(400):
        take = int(rng.integers(1, 60))
        new = pool[pos : pos + take]
        pos += take
        s.add(new)
        ref.update(new.tolist())
        if step % 7 == 0:
            gone = rng.choice(pool[:pos], size=20)
            s.remove(gone)
            ref.difference_update(gone.tolist())
        assert len(s) == len(ref)
    np.testing.assert_array_equal(s.to_array(), np.array(sorted(ref), dtype=np.int64))
    probe = rng.choice(pool, size=5000)
    np.testing.assert_array_equal(s.contains(probe), [int(p) in ref for p in probe])
    assert s.max() == max(ref)
    assert IdSet().max() is None and IdSet().to_array().size == 0

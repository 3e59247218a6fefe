import threading

from facesearch.lazy import LazyModel

calls: list[int] = []


class _Counted(LazyModel[dict[str, int]]):
    def _load(self) -> dict[str, int]:
        calls.append(1)
        return {"weights": len(calls)}


def test_model_loads_once_per_process_even_under_concurrent_first_use() -> None:
    models = [_Counted() for _ in range(8)]
    results: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda m=m: results.append(m.load())) for m in models]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(r is results[0] for r in results)
    assert models[0].lock is models[5].lock
    assert models[3].loaded

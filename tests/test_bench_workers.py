"""The two-worker throughput bench (innmf.tools.bench.workers) in its tiny mode: every key, sane values."""

import json

import pytest

from innmf.tools.bench.workers import main


def test_quick_workers_bench_reports_each_backend(capsys):
    assert main(["--quick", "--json", "--rounds", "1", "--epochs", "3", "--backends", "fused", "bmm"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["epochs"] == 3 and out["rounds"] == 1 and out["cores"] >= 1
    assert set(out["workers"]) == {"fused", "bmm"}
    for rec in out["workers"].values():
        assert rec["one_worker_ms"] > 0 and len(rec["two_workers_ms"]) == 2 and min(rec["two_workers_ms"]) > 0
        lone, (a, b) = rec["one_worker_ms"], rec["two_workers_ms"]
        assert rec["throughput_ratio"] == pytest.approx((1 / a + 1 / b) * lone)


@pytest.mark.parametrize("bad", [["--rounds", "0"], ["--epochs", "0"]])
def test_workers_bench_refuses_empty_runs(bad):
    with pytest.raises(SystemExit):
        main(["--quick", *bad])

"""dagster-dbt's per-run target folders do not pile up: the newest are kept, the rest go."""

import os
import time

from pipelines.lib.dbt_manifest import prune_run_targets

DAY = 86_400


def _folder(root, name, age_days):
    path = root / name
    path.mkdir()
    (path / "run_results.json").write_text("{}")
    then = time.time() - age_days * DAY
    os.utime(path, (then, then))
    return path


def test_keeps_the_newest_and_anything_touched_today(tmp_path):
    # 20 nights' folders, night k made k days ago (k = 0 is tonight's, still being written)
    folders = [_folder(tmp_path, f"xsell_dbt_models-{k:07x}-b372dc{k % 10}", k) for k in range(20)]
    parse = _folder(tmp_path, ".parse-a-b", 30)  # a parse in progress is not a run folder
    (tmp_path / "manifest.json").write_text("{}")

    assert prune_run_targets(tmp_path, keep=14) == 6
    assert [f.exists() for f in folders] == [True] * 14 + [False] * 6
    assert parse.exists() and (tmp_path / "manifest.json").exists()


def test_a_folder_younger_than_a_day_stays_even_beyond_keep(tmp_path):
    young = [_folder(tmp_path, f"op-run{k}-uuid{k}", 0.1) for k in range(3)]
    old = _folder(tmp_path, "op-runold-uuidold", 2)
    assert prune_run_targets(tmp_path, keep=1) == 1
    assert all(f.exists() for f in young) and not old.exists()

"""Typed settings: the three profiles in one place, overrides checked, mapping-style reads."""

import dataclasses
import json

import pytest

from innmf.experiments.settings import (
    PROFILES,
    RULES,
    Settings,
    SettingsError,
    get_profile,
    parse_overrides,
    settings_hash,
)


def test_profiles_share_keys_and_every_setting_has_a_rule():
    keys = set(PROFILES["paper"])
    for name, settings in PROFILES.items():
        assert isinstance(settings, Settings)
        assert set(settings) == keys and settings.profile == name, name
    assert set(RULES) == {f.name for f in dataclasses.fields(Settings)}


def test_paper_profile_is_the_published_protocol():
    p = get_profile("paper")
    assert p.n_trials == 500 and p.nmf_iter == 3000 and p.inr_epochs == 1000
    assert p.n_ffts == (1000, 1500, 2000, 2500) and p.train_n_fft == 2000
    assert p.rank == 20 and p.hidden == 64 and p.n_freqs == 10 and p.power == 0.5
    assert p.backend == "auto" and p.threads == 1


def test_profiles_are_ordered_by_cost():
    s, q, p = (get_profile(n) for n in ("smoke", "quick", "paper"))
    for key in ("n_trials", "nmf_iter", "inr_epochs"):
        assert s[key] <= q[key] <= p[key]


def test_mapping_reads_for_callers_written_for_a_dict():
    s = get_profile("smoke", n_trials=2)
    assert s["rank"] == s.rank == 20 and s.get("rank") == 20 and s.get("nope", 7) == 7
    assert "rank" in s and "nope" not in s and len(s) == len(dataclasses.fields(Settings))
    assert s["n_ffts"] == [1000, 2000]  # lists, as the chapters expect
    plain = dict(s)
    assert plain == s.to_dict() and {**s, "n_trials": 3}["n_trials"] == 3
    assert json.loads(json.dumps(s.to_dict()))["extra_n_ffts"] == [512]
    with pytest.raises(KeyError):
        s["nope"]
    assert Settings.from_mapping({**s, "seed": 4}) == s.replace(seed=4)


def test_settings_are_immutable_copies():
    a = get_profile("quick", n_trials=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.rank = 3
    a["n_ffts"].append(99)  # a copy: the settings do not change
    assert 99 not in a["n_ffts"] and 99 not in get_profile("quick")["n_ffts"]
    assert a.n_trials == 2 and get_profile("quick").n_trials == 4


def test_unknown_profile_and_setting_are_clear():
    with pytest.raises(SettingsError, match="Unknown profile"):
        get_profile("fast")
    with pytest.raises(SettingsError, match="n_trial"):
        get_profile("quick", n_trial=3)
    with pytest.raises(SettingsError, match=r"settings lack \['rank'\]"):
        Settings.from_mapping({k: v for k, v in get_profile("smoke").items() if k != "rank"})


@pytest.mark.parametrize("key,value,words", [
    ("n_trials", -1, "from 1"), ("n_ffts", [3], "16"), ("rank", 0, "from 1"), ("seed", "x", "integer"),
    ("rank", 1.5, "integer"), ("seed", True, "true/false"), ("n_ffts", 512, "list"), ("device", "tpu", "cuda"),
    ("nmf_iter", 0, "from 1"), ("lr", float("inf"), "finite"), ("train_seconds", 0.1, "at least"),
    ("backend", "numba", "reference"), ("corpus", "timit:/d?splt=test", "split"),
])
def test_wrong_type_or_range_names_the_setting(key, value, words):
    with pytest.raises(SettingsError) as err:
        get_profile("smoke", **{key: value})
    assert key in str(err.value) and words in str(err.value)


def test_floats_accept_integers_and_devices_accept_gpu_indices():
    s = get_profile("smoke", lr=1, device="cuda:1", train_seconds=3)
    assert isinstance(s.lr, float) and s.lr == 1.0 and s.device == "cuda:1" and s.train_seconds == 3.0


def test_parse_overrides_types():
    out = parse_overrides(["n_trials=3", "n_ffts=[512, 1024]", "corpus=timit:/data/T", "lr=1",
                           "device=\"cpu\"", "seed=7"])
    assert out == {"n_trials": 3, "n_ffts": [512, 1024], "corpus": "timit:/data/T", "lr": 1.0,
                   "device": "cpu", "seed": 7}
    assert isinstance(out["lr"], float)
    with pytest.raises(SettingsError, match="key=value"):
        parse_overrides(["n_trials"])
    with pytest.raises(SettingsError, match=r"train_seconds=nan"):
        parse_overrides(["train_seconds=nan"])
    with pytest.raises(SettingsError, match=r"seed=1.5 \(float\)"):
        parse_overrides(["seed=1.5"])


def test_settings_hash_is_stable_and_sensitive():
    a = get_profile("smoke")
    assert settings_hash(a) == settings_hash(get_profile("smoke"))
    assert settings_hash(a) != settings_hash(get_profile("smoke", seed=1))
    assert settings_hash(a) == settings_hash(a.to_dict())

import pytest

from innmf.experiments.settings import PROFILES, get_profile, parse_overrides, settings_hash


def test_profiles_share_keys():
    keys = set(PROFILES["paper"])
    for name, settings in PROFILES.items():
        assert set(settings) == keys, name


def test_paper_profile_is_the_published_protocol():
    p = get_profile("paper")
    assert p["n_trials"] == 500 and p["nmf_iter"] == 3000 and p["inr_epochs"] == 1000
    assert p["n_ffts"] == [1000, 1500, 2000, 2500] and p["train_n_fft"] == 2000
    assert p["rank"] == 20 and p["hidden"] == 64 and p["n_freqs"] == 10 and p["power"] == 0.5


def test_profiles_are_ordered_by_cost():
    s, q, p = (get_profile(n) for n in ("smoke", "quick", "paper"))
    for key in ("n_trials", "nmf_iter", "inr_epochs"):
        assert s[key] <= q[key] <= p[key]


def test_override_and_copy():
    a = get_profile("quick", n_trials=2)
    a["n_ffts"].append(99)
    b = get_profile("quick")
    assert a["n_trials"] == 2 and 99 not in b["n_ffts"]


def test_unknown_profile_and_setting_are_clear():
    with pytest.raises(ValueError, match="Unknown profile"):
        get_profile("fast")
    with pytest.raises(ValueError, match="n_trial"):
        get_profile("quick", n_trial=3)


def test_parse_overrides_types():
    out = parse_overrides(["n_trials=3", "n_ffts=[512, 1024]", "corpus=timit:/data/T", "lr=1"])
    assert out == {"n_trials": 3, "n_ffts": [512, 1024], "corpus": "timit:/data/T", "lr": 1.0}
    assert isinstance(out["lr"], float)
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["n_trials"])


def test_settings_hash_is_stable_and_sensitive():
    a = get_profile("smoke")
    assert settings_hash(a) == settings_hash(get_profile("smoke"))
    assert settings_hash(a) != settings_hash(get_profile("smoke", seed=1))

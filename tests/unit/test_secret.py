import stat

from smsledger.ledger.secret import load_secret_key


def test_given_key_is_used_and_nothing_is_written(tmp_path):
    path = tmp_path / "var" / "secret_key"
    assert load_secret_key("from-the-environment", path) == "from-the-environment"
    assert not path.exists()


def test_key_is_made_once_kept_private_and_read_back(tmp_path):
    path = tmp_path / "var" / "secret_key"
    first = load_secret_key(None, path)
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_key(None, path) == first
    assert load_secret_key("", path) == first

import pytest

from portfolio_rl.errors import PortfolioRLError
from portfolio_rl.plumbing.files import atomic_write_text, child_path, safe_name


@pytest.mark.parametrize("name", ["../etc", "a/b", ".hidden", "", "x" * 65, "a\\b", "..", "C:x"])
def test_unsafe_names_are_refused(name, tmp_path):
    with pytest.raises(PortfolioRLError):
        child_path(tmp_path, name)


@pytest.mark.parametrize("name", ["AAPL", "BRK-B", "^GSPC", "EURUSD=X", "run_1.a"])
def test_safe_names_stay_inside(name, tmp_path):
    assert safe_name(name) == name
    assert child_path(tmp_path, name, ".parquet").parent == tmp_path.resolve()


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")

    from portfolio_rl.plumbing.files import atomic_write

    def broken(tmp):
        tmp.write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, broken)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]

"""The tests are hermetic: an app built for a test keeps its files in the test's own folder."""

from pathlib import Path

from tests.conftest import ROOT, _dispose, _web_config


def _files(folder: Path) -> dict[str, int]:
    """Every file under `folder` with its modification time (ns); empty if there is none."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_a_test_app_writes_its_instance_files_into_the_test_folder(tmp_path: Path):
    from web import create_app

    checkout = ROOT / "instance"
    before = _files(checkout)
    app = create_app(_web_config(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "inst"))
    assert Path(app.instance_path) == (tmp_path / "inst").resolve()
    assert (tmp_path / "inst" / "secret_key").is_file()
    assert (tmp_path / "inst" / "translations" / "zh" / "LC_MESSAGES" / "messages.mo").is_file()
    # the Chinese catalogue compiled there is the one the pages use
    assert "跳到正文" in app.test_client().get("/d/fangzi/").get_data(as_text=True)
    assert _files(checkout) == before, "the test wrote into the checkout's instance/ folder"
    _dispose(app)

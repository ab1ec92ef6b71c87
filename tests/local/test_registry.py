"""The model registry: assembling parts into one verified file, safely and only once."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from rlm_toolkit.errors import ConfigError, MissingDependency
from rlm_toolkit.local import models


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> models.LocalModel:
    """A registered model whose three parts are small files, cached under tmp_path."""
    parts = []
    for i, data in enumerate((b"GGUF" + b"a" * 5000, b"b" * 7000, b"c" * 3)):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(data)
        parts.append(part)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()
    model = replace(models.MODELS["qwen2.5-coder-0.5b"], name="tiny", filename="tiny.gguf",
                    sha256=digest, parts=3)
    monkeypatch.setitem(models.MODELS, "tiny", model)
    monkeypatch.setattr(models, "part_files", lambda m: list(parts))
    monkeypatch.setenv("RLM_MODELS_DIR", str(tmp_path / "cache"))
    return model


def test_install_assembles_parts_in_order_and_verifies(fake_model: models.LocalModel) -> None:
    seen: list[tuple[int, int]] = []
    path = models.install("tiny", progress=lambda done, total: seen.append((done, total)))
    assert path == Path(models.models_dir()) / "tiny.gguf"
    assert path.read_bytes() == b"GGUF" + b"a" * 5000 + b"b" * 7000 + b"c" * 3
    assert seen[-1] == (12007, 12007)
    assert models.path("tiny") == path
    assert not list(path.parent.glob("*.partial"))


def test_second_install_is_a_no_op(fake_model: models.LocalModel) -> None:
    first = models.install("tiny")
    stamp = first.stat().st_mtime_ns
    calls: list[int] = []
    again = models.install("tiny", progress=lambda d, t: calls.append(d))
    assert again == first and first.stat().st_mtime_ns == stamp and calls == []


def test_a_wrong_hash_keeps_nothing(fake_model: models.LocalModel,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(models.MODELS, "tiny", replace(fake_model, sha256="0" * 64))
    with pytest.raises(ConfigError, match="sha256") as err:
        models.install("tiny")
    assert "nothing was kept" in str(err.value)
    assert list(models.models_dir().iterdir()) == []


def test_an_interrupted_install_leaves_no_finished_looking_file(
        fake_model: models.LocalModel) -> None:
    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        models.install("tiny", progress=interrupt)
    assert list(models.models_dir().iterdir()) == []
    with pytest.raises(models.ModelNotInstalled, match="rlm models install tiny"):
        models.path("tiny")
    assert models.install("tiny").is_file()  # and the next try succeeds


def test_a_changed_file_is_no_longer_trusted(fake_model: models.LocalModel) -> None:
    path = models.install("tiny")
    path.write_bytes(b"tampered")
    assert models.installed_path(fake_model) is None
    assert models.install("tiny").read_bytes().startswith(b"GGUF")


def test_unknown_model_names_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match=r"qwen2\.5-coder-1\.5b"):
        models.get("llama-9000")


def test_missing_part_packages_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    model = replace(models.MODELS["qwen2.5-coder-0.5b"], package_prefix="no-such-dist-part")
    with pytest.raises(MissingDependency, match=r"rlm-toolkit\[local\]"):
        models.part_files(model)


def test_pins_cover_every_part() -> None:
    for model in models.MODELS.values():
        pins = model.packages()
        assert len(pins) == model.parts
        assert pins[0].endswith(f"1=={model.version}")
        assert len(model.sha256) == 64


def test_cli_models_list_and_path(fake_model: models.LocalModel,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    from rlm_toolkit.cli.main import main

    assert main(["models", "install", "tiny"]) == 0
    assert main(["models", "path", "tiny"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("tiny.gguf")
    assert main(["models", "list", "--json"]) == 0
    assert '"spec": "local/qwen2.5-coder-1.5b"' in capsys.readouterr().out
    assert main(["models", "remove", "tiny"]) == 0
    assert main(["models", "path", "tiny"]) == 1
    assert "rlm models install tiny" in capsys.readouterr().err
